package provider

import (
	"github.com/spillwayhq/spillway/internal/config"
)

// DefaultOpenAIBase is used when an openai deployment names no endpoint.
const DefaultOpenAIBase = "https://api.openai.com/v1"

// newOpenAI addresses OpenAI and OpenAI-compatible servers (vLLM, Ollama,
// LM Studio): {base}/{operation}, the key as a bearer token (none when the
// deployment has no key), and the body's model replaced by the upstream
// model name. An endpoint without a path gets /v1, the common mount point.
func newOpenAI(d config.Deployment) (*Target, error) {
	raw := d.Endpoint
	if raw == "" {
		raw = DefaultOpenAIBase
	}
	base, err := parseBase(raw)
	if err != nil {
		return nil, err
	}
	if base.Path == "" {
		base.Path = "/v1"
	}
	t := &Target{Model: d.Deployment, StreamUsage: true}
	for op, spec := range specs {
		if !spec.OpenAI || !servesOp(d, Operation(op)) {
			continue
		}
		u := *base
		u.Path = base.Path + spec.Path
		u.RawPath = ""
		t.urls[op] = &u
	}
	if k := d.APIKey.Value(); k != "" {
		t.authHeader = "Authorization"
		t.authValue = []string{"Bearer " + k}
	}
	return t, nil
}
