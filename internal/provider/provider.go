// Package provider knows how each kind of upstream is addressed: the URL of
// an operation, the auth header, and whether the request body's model field
// must name the upstream model. One file per kind; Target is what the
// gateway uses, built once per deployment so the hot path only copies.
package provider

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spillwayhq/spillway/internal/config"
)

// Operation is what a client asked for, independent of URL shape.
type Operation uint8

// Operations, in the order of Target.urls.
const (
	Chat Operation = iota
	Completions
	Embeddings
	Images
	ExtensionsChat
	numOperations
)

var operationNames = [numOperations]string{"chat", "completions", "embeddings", "images", "extensions-chat"}

func (o Operation) String() string {
	if o < numOperations {
		return operationNames[o]
	}
	return fmt.Sprintf("Operation(%d)", o)
}

// Class returns the deployment class that can serve the operation.
func (o Operation) Class() string {
	switch o {
	case Completions:
		return config.ClassCompletions
	case Embeddings:
		return config.ClassEmbeddings
	case Images:
		return config.ClassImages
	default:
		return config.ClassChat
	}
}

// Target is a deployment's upstream address and credentials, prepared once.
// It is immutable and safe for concurrent use.
type Target struct {
	urls [numOperations]*url.URL
	// authHeader and authValue are set on every upstream request; empty
	// authHeader means the upstream takes no credentials.
	authHeader string
	authValue  []string
	// Model is the upstream model name to put in the request body, or ""
	// when the body's model is left as the client sent it (Azure routes by
	// URL and ignores it).
	Model string
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
	default:
		return nil, fmt.Errorf("provider %q cannot serve %s", d.Provider, d.Class)
	}
}

// URL returns the upstream URL of op. The caller must not modify it.
func (t *Target) URL(op Operation) *url.URL { return t.urls[op] }

// SetAuth puts the upstream credentials on h.
func (t *Target) SetAuth(h http.Header) {
	if t.authHeader != "" {
		h[t.authHeader] = t.authValue // shared: header values are never modified downstream
	}
}

// Host returns the upstream host, for logs.
func (t *Target) Host() string { return t.urls[Chat].Host }

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
