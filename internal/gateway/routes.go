package gateway

import (
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/provider"
)

// form is a URL family a client may call an operation by.
type form uint8

const (
	// formOpenAI: /v1/{path}, and /api/v1/{path} as the seed proxy had it.
	formOpenAI form = 1 << iota
	// formAzureV1: /openai/v1/{path}, the model in the body.
	formAzureV1
	// formAzureDeployment: /openai/deployments/{model}/{path}?api-version.
	formAzureDeployment
	// formAzurePreview: /openai/{path}?api-version, the model in the body:
	// where the Azure mode of the OpenAI SDKs sends what has no deployment
	// in its URL (the Responses API, moderations).
	formAzurePreview
	// formInference: /models/{path}, Azure AI Inference's client routes.
	formInference
)

// azurePrefixes are where Azure-style routes answer: bare, under the
// seed's /api/v1, and under /api as earlier Spillway versions had them.
var azurePrefixes = []string{"", seedPrefix, "/api"}

// clientRoutes is every data-plane route: a path below the forms' bases,
// the operations it serves (one per method), and its forms. A path with
// {id} addresses an object the gateway signed (objects.go).
var clientRoutes = []struct {
	path  string
	ops   []provider.Operation
	forms form
}{
	{"chat/completions", ops(provider.Chat), formOpenAI | formAzureV1 | formAzureDeployment | formInference},
	{"completions", ops(provider.Completions), formOpenAI | formAzureV1 | formAzureDeployment},
	{"embeddings", ops(provider.Embeddings), formOpenAI | formAzureV1 | formAzureDeployment | formInference},
	{"images/generations", ops(provider.Images), formOpenAI | formAzureV1 | formAzureDeployment},
	{"extensions/chat/completions", ops(provider.ExtensionsChat), formAzureDeployment},
	{"images/generations:submit", ops(provider.ImagesSubmit), formAzurePreview},
	{"responses", ops(provider.Responses), formOpenAI | formAzureV1 | formAzureDeployment | formAzurePreview},
	{"responses/input_tokens", ops(provider.ResponseInputTokens), formOpenAI | formAzureV1 | formAzureDeployment | formAzurePreview},
	{"responses/{id}", ops(provider.ResponseGet, provider.ResponseDelete), formOpenAI | formAzureV1 | formAzurePreview},
	{"responses/{id}/cancel", ops(provider.ResponseCancel), formOpenAI | formAzureV1 | formAzurePreview},
	{"responses/{id}/input_items", ops(provider.ResponseInputItems), formOpenAI | formAzureV1 | formAzurePreview},
	{"audio/transcriptions", ops(provider.Transcriptions), formOpenAI | formAzureV1 | formAzureDeployment},
	{"audio/translations", ops(provider.Translations), formOpenAI | formAzureV1 | formAzureDeployment},
	{"audio/speech", ops(provider.Speech), formOpenAI | formAzureV1 | formAzureDeployment},
	{"moderations", ops(provider.Moderations), formOpenAI | formAzureV1 | formAzurePreview},
	{"images/edits", ops(provider.ImageEdits), formOpenAI | formAzureV1 | formAzureDeployment},
	{"images/variations", ops(provider.ImageVariations), formOpenAI | formAzureV1 | formAzurePreview},
}

func ops(o ...provider.Operation) []provider.Operation { return o }

func (g *Gateway) routes() {
	for _, rt := range clientRoutes {
		// Registered without a method, so a wrong one gets an
		// OpenAI-shaped 405, not the catch-all's 404.
		inBody := g.endpoint(rt.ops, false)
		if rt.forms&formOpenAI != 0 {
			g.mux.Handle("/v1/"+rt.path, inBody)
			g.mux.Handle(seedPrefix+"/"+rt.path, inBody)
		}
		if rt.forms&formInference != 0 {
			g.mux.Handle("/models/"+rt.path, inBody)
		}
		for _, prefix := range azurePrefixes {
			if rt.forms&formAzureV1 != 0 {
				g.mux.Handle(prefix+"/openai/v1/"+rt.path, inBody)
			}
			if rt.forms&formAzurePreview != 0 {
				g.mux.Handle(prefix+"/openai/"+rt.path, inBody)
			}
			if rt.forms&formAzureDeployment != 0 {
				// The deployment name in the URL is the model.
				g.mux.Handle(prefix+"/openai/deployments/{model}/"+rt.path, g.endpoint(rt.ops, true))
			}
		}
	}
	for _, prefix := range azurePrefixes {
		g.mux.Handle(prefix+"/openai/operations/images/{operation}", g.imageOperation(g.endpoint(ops(provider.ImageOperation), true)))
		g.mux.Handle(prefix+"/openai/v1/models", g.handle(onlyGET(g.listModels)))
		g.mux.Handle(prefix+"/openai/v1/models/{id...}", g.handle(onlyGET(g.getModel)))
		g.mux.Handle(prefix+"/openai/models", g.handle(onlyGET(g.listAzureModels)))
		g.mux.Handle(prefix+"/openai/models/{id...}", g.handle(onlyGET(g.getAzureModel)))
	}
	for _, prefix := range []string{"/v1", seedPrefix} {
		g.mux.Handle(prefix+"/models", g.handle(onlyGET(g.listModels)))
		g.mux.Handle(prefix+"/models/{id...}", g.handle(onlyGET(g.getModel)))
	}
	g.searchRoutes()
	g.realtimeRoutes()
	g.objectRoutes()
	g.mux.Handle("/", g.handle(func(w http.ResponseWriter, r *http.Request) error {
		return &apierror.Error{Status: http.StatusNotFound, Message: "unknown route " + r.Method + " " + r.URL.Path + "; see the README for the OpenAI- and Azure-style routes", Type: apierror.TypeInvalidRequest, Code: "unknown_route"}
	}))
}

// routeMux is the gateway's mux, which remembers its patterns (Patterns).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	m.patterns = append(m.patterns, pattern)
}

// Patterns are the gateway's own routes, for a mux in front of it to
// send them to it: with a catch-all ("/") alone, Go's ServeMux finds the
// gateway's routes only after failing every more specific pattern it
// holds, and looking for a trailing-slash redirect (a second walk), which
// made seven allocations on every request. Each is a method-less pattern
// whose wildcards follow literal segments (the model, an object's id);
// a multi-segment wildcard ({id...}) and the catch-all are left out,
// since a mux in front would treat them differently (trailing-slash
// redirects) than as its own catch-all.
func (g *Gateway) Patterns() []string {
	out := make([]string, 0, len(g.mux.patterns))
	for _, p := range g.mux.patterns {
		if p != "/" && !strings.Contains(p, "...}") {
			out = append(out, p)
		}
	}
	return out
}

// opFor returns the operation of ops that r's method asks for.
func opFor(ops []provider.Operation, method string) (provider.Operation, bool) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for _, op := range ops {
		if op.Method() == method {
			return op, true
		}
	}
	return 0, false
}

// allowed lists the methods of ops, for a 405's Allow header.
func allowed(ops []provider.Operation) string {
	ms := make([]string, 0, len(ops))
	for _, op := range ops {
		ms = append(ms, op.Method())
	}
	return strings.Join(ms, ", ")
}
