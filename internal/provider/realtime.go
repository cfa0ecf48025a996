package provider

import (
	"net/url"
)

// RealtimeURL returns the WebSocket URL of a Realtime session on the
// upstream, or nil when it serves none: {base}/realtime?model=M on OpenAI
// ({base} is …/v1), and Azure's v1 form
// {endpoint}/openai/v1/realtime?model=DEPLOYMENT, where the model names
// the Azure deployment. The scheme stays http(s): WebSocket clients dial
// it as ws(s).
func (t *Target) RealtimeURL() *url.URL {
	b := t.urls[Realtime]
	if b == nil {
		return nil
	}
	u := *b
	u.RawQuery = url.Values{"model": {t.ModelFor(Realtime)}}.Encode()
	return &u
}
