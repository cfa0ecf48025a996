package provider

import (
	"net/http"
	"net/url"

	"github.com/spillwayhq/spillway/internal/config"
)

// newSearch addresses an Azure AI Search index:
// {endpoint}/indexes/{index}/docs/search for queries by POST (both of the
// client's spellings) and {endpoint}/indexes/{index}/docs for GET, with
// the key in the api-key header. The index is the deployment's upstream
// name (deployment:, by default the public model name, which is the index
// name clients use). The api-version is the deployment's when set, else
// the client's: AI Search clients pin the version their request shape
// needs.
func newSearch(d config.Deployment) (*Target, error) {
	base, err := parseBase(d.BaseURL())
	if err != nil {
		return nil, err
	}
	t := &Target{apiVersion: d.APIVersion}
	for op, p := range map[Operation]string{Search: "/docs/search", SearchDocs: "/docs"} {
		u := *base
		u.Path = base.Path + "/indexes/" + d.Deployment + p
		u.RawPath = base.EscapedPath() + "/indexes/" + url.PathEscape(d.Deployment) + p
		t.urls[op] = &u
	}
	if k := d.APIKey.Value(); k != "" {
		t.authHeader = http.CanonicalHeaderKey("api-key")
		t.authValue = []string{k}
	}
	return t, nil
}

// SearchURL returns the upstream URL of a search operation with the
// client's query string: everything the client sent is forwarded, with
// api-version replaced by the deployment's when it pins one.
func (t *Target) SearchURL(op Operation, clientQuery string) *url.URL {
	b := t.urls[op]
	if b == nil {
		return nil
	}
	u := *b
	u.RawQuery = clientQuery
	if t.apiVersion != "" {
		q, err := url.ParseQuery(clientQuery)
		if err != nil {
			q = url.Values{}
		}
		q.Set("api-version", t.apiVersion)
		u.RawQuery = q.Encode()
	}
	return &u
}
