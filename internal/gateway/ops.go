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
var noPeek = peeked{modelStart: -1, modelEnd: -1, MaxTokens: -1, maxStart: -1, maxEnd: -1, prevStart: -1, prevEnd: -1}

// upstreamURL is where req goes on target t, or nil when t does not serve
// the operation.
func upstreamURL(t *provider.Target, r *http.Request, req *exchange) *url.URL {
	op := req.op
	switch op {
	case provider.Search, provider.SearchDocs:
		return t.SearchURL(op, r.URL.RawQuery)
	}
	if !op.Spec().Object {
		return t.URL(op)
	}
	u := t.ObjectURL(op, req.object.upstream)
	if req.spec.Sub {
		u = t.NestedURL(op, req.object.upstream, req.sub.upstream)
	}
	if u != nil && op != provider.ImageOperation && r.URL.RawQuery != "" {
		// Paging and include options pass through; the api-version is
		// the client's business with the gateway, not the upstream's.
		q := r.URL.Query()
		q.Del("api-version")
		u.RawQuery = q.Encode()
	}
	return u
}
