package provider

import (
	"net/http"
	"net/url"

	"github.com/spillwayhq/spillway/internal/config"
)

// azurePaths are the operation paths below /openai/deployments/{name}.
var azurePaths = [numOperations]string{
	Chat:           "/chat/completions",
	Completions:    "/completions",
	Embeddings:     "/embeddings",
	Images:         "/images/generations",
	ExtensionsChat: "/extensions/chat/completions",
}

// newAzure addresses an Azure OpenAI deployment:
// {endpoint}/openai/deployments/{deployment}/{operation}?api-version=V, with
// the key in the api-key header. Azure routes by URL, so the body's model
// field is left alone.
func newAzure(d config.Deployment) (*Target, error) {
	base, err := parseBase(d.BaseURL())
	if err != nil {
		return nil, err
	}
	// stream_options arrived in api-version 2024-09-01-preview; older
	// versions reject the field.
	t := &Target{StreamUsage: d.APIVersion >= "2024-09-01"}
	q := url.Values{"api-version": {d.APIVersion}}.Encode()
	for op, p := range azurePaths {
		u := *base
		u.Path = base.Path + "/openai/deployments/" + d.Deployment + p
		u.RawPath = base.EscapedPath() + "/openai/deployments/" + url.PathEscape(d.Deployment) + p
		u.RawQuery = q
		t.urls[op] = &u
	}
	if k := d.APIKey.Value(); k != "" {
		t.authHeader = http.CanonicalHeaderKey("api-key")
		t.authValue = []string{k}
	}
	return t, nil
}
