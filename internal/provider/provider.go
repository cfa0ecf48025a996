// Package provider knows how each kind of upstream is addressed: the URL of
// an operation, the auth header, and whether the request body's model field
// must name the upstream model. One file per kind; Target is what the
// gateway uses, built once per deployment so the hot path only copies.
package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spillwayhq/spillway/internal/config"
)

// Target is a deployment's upstream address and credentials, prepared once.
// It is immutable and safe for concurrent use.
type Target struct {
	// urls holds the URL of each operation the upstream serves; nil for
	// the others.
	urls [numOperations]*url.URL
	// authHeader and authValue are set on every upstream request; empty
	// authHeader means the upstream takes no credentials.
	authHeader string
	authValue  []string
	// tokens, when set, supplies Entra ID bearer tokens instead.
	tokens TokenSource
	// apiVersion pins the api-version of operations that forward the
	// client's query (AI Search); "" forwards the client's.
	apiVersion string
	// Model is the upstream model name to put in the request body, or ""
	// when the body's model is left as the client sent it (Azure routes by
	// URL and ignores it).
	Model string
	// v1Model is the model to put in the body of Azure v1 API requests
	// (the deployment name), which Azure routes by.
	v1Model string
	// StreamUsage reports whether the upstream accepts
	// stream_options.include_usage (Azure from api-version 2024-09-01).
	StreamUsage bool
}

// NewTarget prepares the target of a validated deployment.
func NewTarget(d config.Deployment) (*Target, error) {
	switch d.Provider {
	case config.ProviderAzure:
		return newAzure(d)
	case config.ProviderOpenAI, config.ProviderOpenAICompatible:
		return newOpenAI(d)
	case config.ProviderAzureSearch:
		return newSearch(d)
	case config.ProviderAzureAIInference:
		return newInference(d)
	default:
		return nil, fmt.Errorf("provider %q cannot serve %s", d.Provider, d.Class)
	}
}

// ModelFor returns the model to put in the body of an op request, or ""
// to leave the client's: an object operation's body names none.
func (t *Target) ModelFor(op Operation) string {
	switch {
	case specs[op].Kind != "":
		return ""
	case t.Model == "" && specs[op].Azure == AzureV1:
		return t.v1Model
	}
	return t.Model
}

// servesOp reports whether deployment d serves op at all: its class must
// be op's, except that a chat deployment also serves the Responses API
// unless it opts out.
func servesOp(d config.Deployment, op Operation) bool {
	if specs[op].Class == config.ClassChat && specs[op].Azure == AzureV1 && specs[op].Kind == "" {
		return d.ServesResponses()
	}
	return true
}

// URL returns the upstream URL of op, or nil when the upstream does not
// serve op. The caller must not modify it.
func (t *Target) URL(op Operation) *url.URL { return t.urls[op] }

// Serves reports whether the upstream serves op.
func (t *Target) Serves(op Operation) bool { return t.urls[op] != nil }

// SetAuth puts the upstream's static credentials (an api-key or a bearer
// key) on h. A target that authenticates with Entra ID gets nothing here:
// use Authorize.
func (t *Target) SetAuth(h http.Header) {
	if t.authHeader != "" {
		h[t.authHeader] = t.authValue // shared: header values are never modified downstream
	}
}

// Authorize puts the upstream credentials on h: the static ones, or a
// bearer token from the target's token source. A token that cannot be had
// fails with a *CredentialError.
func (t *Target) Authorize(ctx context.Context, h http.Header) error {
	if t.tokens == nil {
		t.SetAuth(h)
		return nil
	}
	tok, err := t.tokens.Token(ctx)
	if err != nil {
		return err
	}
	h["Authorization"] = []string{"Bearer " + tok}
	return nil
}

// WithTokens returns a copy of t that authenticates with bearer tokens
// from ts instead of its static credentials.
func (t *Target) WithTokens(ts TokenSource) *Target {
	c := *t
	c.authHeader, c.authValue = "", nil
	c.tokens = ts
	return &c
}

// Host returns the upstream host, for logs.
func (t *Target) Host() string {
	for _, u := range t.urls {
		if u != nil {
			return u.Host
		}
	}
	return ""
}

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an absolute http(s) URL", raw)
	}
	return u, nil
}
