package provider

import (
	"net/http"
	"net/url"

	"github.com/spillwayhq/spillway/internal/config"
)

// inferenceAPIVersion is the Azure AI Inference api-version sent when the
// deployment pins none of its own.
const inferenceAPIVersion = "2024-05-01-preview"

// newInference addresses Azure AI Inference, the endpoint of Azure AI
// Foundry's serverless and managed models (Mistral, Llama, Phi, ...):
// {endpoint}/chat/completions and {endpoint}/embeddings?api-version=V,
// with the key in the api-key header and the upstream model in the body.
// The endpoint is the resource's …/models URL.
func newInference(d config.Deployment) (*Target, error) {
	base, err := parseBase(d.BaseURL())
	if err != nil {
		return nil, err
	}
	v := d.APIVersion
	if v == "" {
		v = inferenceAPIVersion
	}
	t := &Target{Model: d.Deployment, StreamUsage: true}
	q := url.Values{"api-version": {v}}.Encode()
	for _, op := range []Operation{Chat, Embeddings} {
		u := *base
		u.Path = base.Path + specs[op].Path
		u.RawPath = ""
		u.RawQuery = q
		t.urls[op] = &u
	}
	if k := d.APIKey.Value(); k != "" {
		t.authHeader = http.CanonicalHeaderKey("api-key")
		t.authValue = []string{k}
	}
	return t, nil
}
