package gateway

import (
	"net/http"
	"net/url"

	"github.com/spillwayhq/spillway/internal/provider"
)

// DefaultSubmitModel is the model of a DALL-E 2 job submitted without one:
// Azure's generations:submit route names no deployment, and its clients
// send no model.
const DefaultSubmitModel = "dall-e-2"

// noPeek is the peek of a body the gateway does not look into.
var noPeek = peeked{modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1}

// peekOp peeks at a request body as its operation needs: AI Search bodies
// and polls are forwarded unread (the URL names the model), the rest must
// be a JSON object with the fields of peeked.
func peekOp(op provider.Operation, body []byte) (peeked, error) {
	switch op {
	case provider.Search, provider.SearchDocs, provider.ImageOperation:
		return noPeek, nil
	}
	p, err := peek(body)
	if err == nil && op == provider.ImagesSubmit && p.Model == "" {
		p.Model = DefaultSubmitModel
	}
	return p, err
}

// upstreamURL is where req goes on target t, or nil when t does not serve
// the operation.
func upstreamURL(t *provider.Target, r *http.Request, op provider.Operation) *url.URL {
	switch op {
	case provider.Search, provider.SearchDocs:
		return t.SearchURL(op, r.URL.RawQuery)
	case provider.ImageOperation:
		return t.ObjectURL(provider.ImageOperation, r.PathValue(pathUpstreamOperation))
	}
	return t.URL(op)
}
