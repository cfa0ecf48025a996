package provider

import (
	"net/http"
	"net/url"

	"github.com/spillwayhq/spillway/internal/config"
)

// ObjectURL returns the upstream URL of an operation on the object id
// (a stored response, a DALL-E 2 job), or nil when the upstream does not
// serve op.
func (t *Target) ObjectURL(op Operation, id string) *url.URL {
	b := t.urls[op]
	if b == nil {
		return nil
	}
	suffix := specs[op].Suffix
	u := *b
	u.Path = b.Path + "/" + id + suffix
	u.RawPath = b.EscapedPath() + "/" + url.PathEscape(id) + suffix
	return &u
}

// azureResourcePaths are the resource-level paths of AzureResource
// operations.
var azureResourcePaths = map[int]string{
	int(ImagesSubmit):   "/openai/images/generations:submit",
	int(ImageOperation): "/openai/operations/images",
}

// azurePath is op's path below /openai/deployments/{name}: OpenAI's,
// except that the On Your Data extension keeps its own.
func azurePath(op Operation) string {
	if op == ExtensionsChat {
		return "/extensions/chat/completions"
	}
	return specs[op].Path
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
	t := &Target{StreamUsage: d.APIVersion >= "2024-09-01", v1Model: d.Deployment}
	q := url.Values{"api-version": {d.APIVersion}}.Encode()
	for op, spec := range specs {
		u := *base
		switch spec.Azure {
		case AzureDeployment:
			u.Path = base.Path + "/openai/deployments/" + d.Deployment + azurePath(Operation(op))
			u.RawPath = base.EscapedPath() + "/openai/deployments/" + url.PathEscape(d.Deployment) + azurePath(Operation(op))
			u.RawQuery = q
		case AzureV1:
			// The v1 API takes no api-version.
			u.Path = base.Path + "/openai/v1" + spec.Path
			u.RawPath = ""
		case AzureResource:
			// DALL-E 2 jobs live on the resource, not under a deployment.
			u.Path = base.Path + azureResourcePaths[op]
			u.RawPath = ""
			u.RawQuery = q
		default:
			continue
		}
		if !servesOp(d, Operation(op)) {
			continue
		}
		t.urls[op] = &u
	}
	if k := d.APIKey.Value(); k != "" {
		t.authHeader = http.CanonicalHeaderKey("api-key")
		t.authValue = []string{k}
	}
	return t, nil
}
