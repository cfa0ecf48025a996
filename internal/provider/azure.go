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

// OperationURL returns the URL that polls the upstream DALL-E 2 job id,
// or nil when the upstream has no such jobs.
func (t *Target) OperationURL(id string) *url.URL {
	b := t.urls[ImageOperation]
	if b == nil {
		return nil
	}
	u := *b
	u.Path = b.Path + "/" + id
	u.RawPath = b.EscapedPath() + "/" + url.PathEscape(id)
	return &u
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
		if p == "" {
			continue
		}
		u := *base
		u.Path = base.Path + "/openai/deployments/" + d.Deployment + p
		u.RawPath = base.EscapedPath() + "/openai/deployments/" + url.PathEscape(d.Deployment) + p
		u.RawQuery = q
		t.urls[op] = &u
	}
	// DALL-E 2 jobs live on the resource, not under a deployment.
	for op, p := range map[Operation]string{ImagesSubmit: "/openai/images/generations:submit", ImageOperation: "/openai/operations/images"} {
		u := *base
		u.Path = base.Path + p
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
