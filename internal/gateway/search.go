package gateway

import (
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/provider"
)

// Azure AI Search pass-through. The index name in the URL is the public
// model: a search deployment's model is the index name clients use, and
// its deployment: field the index name upstream (by default the same).
// Replicas of one index (deployments with the same model) share a pool and
// take turns under the model's strategy, round robin by default. The body
// is forwarded untouched, never peeked at: it has no model field, and its
// answer no token usage, so usage records count requests only.

// searchRoutes registers the AI Search routes. The OData spelling,
// /indexes('{index}')/docs/search.post.search, is rewritten to the plain
// one by ServeHTTP before the mux sees it, since a mux wildcard must be a
// whole path segment.
func (g *Gateway) searchRoutes() {
	for _, prefix := range []string{"", seedPrefix} {
		g.mux.Handle(prefix+"/indexes/{model}/docs/search", g.endpoint(ops(provider.Search), true))
		g.mux.Handle(prefix+"/indexes/{model}/docs/search.post.search", g.endpoint(ops(provider.Search), true))
		g.mux.Handle(prefix+"/indexes/{model}/docs", g.endpoint(ops(provider.SearchDocs), true))
	}
}

// searchODataPath returns r with /indexes('{index}')/rest rewritten to
// /indexes/{index}/rest, or r itself when the path is not of that form.
func searchODataPath(r *http.Request) *http.Request {
	prefix := ""
	if strings.HasPrefix(r.URL.Path, seedPrefix+"/") {
		prefix = seedPrefix
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, prefix), "/indexes(")
	name, rest, ok := strings.Cut(rest, ")")
	if !ok || len(name) < 2 || name[0] != '\'' || name[len(name)-1] != '\'' || !strings.HasPrefix(rest, "/") {
		return r
	}
	name = name[1 : len(name)-1]
	if name == "" || strings.ContainsAny(name, "/'") {
		return r
	}
	u := *r.URL
	u.Path = prefix + "/indexes/" + name + rest
	u.RawPath = ""
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = &u
	return r2
}
