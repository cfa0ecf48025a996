package gateway

import (
	"net/http"
	"strconv"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/store"
)

// Lists of files and batches come from the registry, not from an
// upstream: an upstream lists everything its account holds, every key's
// objects together, and only on that one deployment. The registry has the
// caller's own objects on every deployment, paged as OpenAI pages them
// (after, limit, order, has_more, first_id, last_id).

// listLimits are OpenAI's default and largest page for each kind.
var listLimits = map[string][2]int{
	store.KindFile:        {10000, 10000},
	store.KindBatch:       {20, 100},
	store.KindVectorStore: {20, 100},
}

// collection serves a collection route: GET lists from the registry, any
// other method is the create operation's.
func (g *Gateway) collection(kind string, create http.Handler) http.Handler {
	list := g.handle(func(w http.ResponseWriter, r *http.Request) error { return g.listObjects(w, r, kind) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			list.ServeHTTP(w, r)
			return
		}
		create.ServeHTTP(w, r)
	})
}

func (g *Gateway) listObjects(w http.ResponseWriter, r *http.Request, kind string) error {
	p, err := g.authenticate(r)
	if err != nil {
		return err
	}
	if g.objects == nil {
		return &apierror.Error{Status: http.StatusNotImplemented, Message: "this gateway has no object registry, so it cannot list objects; fetch each by its id", Type: apierror.TypeServer, Code: "no_object_registry"}
	}
	q := r.URL.Query()
	lim := listLimits[kind]
	qry := store.ObjectQuery{KeyID: ownerOf(p), Kind: kind, Purpose: q.Get("purpose"), After: q.Get("after"), Limit: lim[0]}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > lim[1] {
			return errBadRequest("limit", "invalid_value", "limit must be a whole number from 1 to %d, not %q", lim[1], v)
		}
		qry.Limit = n
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		qry.Ascending = true
	default:
		return errBadRequest("order", "invalid_value", "order must be \"asc\" or \"desc\", not %q", q.Get("order"))
	}
	want := qry.Limit
	qry.Limit++ // one more tells whether there are more
	objs, err := g.objects.ListObjects(r.Context(), qry)
	if err != nil {
		g.log.Error("object registry: list", "kind", kind, "err", err)
		return &apierror.Error{Status: http.StatusServiceUnavailable, Message: "the object registry cannot be read right now; retry shortly", Type: apierror.TypeServer, Code: "registry_unavailable"}
	}
	more := len(objs) > want
	objs = objs[:min(len(objs), want)]
	b := make([]byte, 0, 128+len(objs)*256)
	b = append(b, `{"object":"list","data":[`...)
	for i, o := range objs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, o.Data...)
	}
	b = append(b, `],"first_id":`...)
	b = appendNullableID(b, objs, 0)
	b = append(b, `,"last_id":`...)
	b = appendNullableID(b, objs, len(objs)-1)
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, more)
	return writeJSONBody(w, append(b, "}\n"...))
}

func appendNullableID(b []byte, objs []store.Object, i int) []byte {
	if i < 0 || i >= len(objs) {
		return append(b, "null"...)
	}
	return strconv.AppendQuote(b, objs[i].ID)
}

// objectRoutes are the routes of files, uploads and batches, in the
// OpenAI, Azure v1 and Azure preview forms.
func (g *Gateway) objectRoutes() {
	type row struct {
		path string
		h    http.Handler
	}
	rows := []row{
		{"files", g.collection(store.KindFile, g.endpoint(ops(provider.FileCreate), false))},
		{"files/{id}", g.endpoint(ops(provider.FileGet, provider.FileDelete), false)},
		{"files/{id}/content", g.endpoint(ops(provider.FileContent), false)},
		{"uploads", g.endpoint(ops(provider.UploadCreate), false)},
		{"uploads/{id}/parts", g.endpoint(ops(provider.UploadPart), false)},
		{"uploads/{id}/complete", g.endpoint(ops(provider.UploadComplete), false)},
		{"uploads/{id}/cancel", g.endpoint(ops(provider.UploadCancel), false)},
		{"batches", g.collection(store.KindBatch, g.endpoint(ops(provider.BatchCreate), false))},
		{"batches/{id}", g.endpoint(ops(provider.BatchGet), false)},
		{"batches/{id}/cancel", g.endpoint(ops(provider.BatchCancel), false)},
		{"vector_stores", g.collection(store.KindVectorStore, g.endpoint(ops(provider.VectorStoreCreate), false))},
		{"vector_stores/{id}", g.endpoint(ops(provider.VectorStoreGet, provider.VectorStoreModify, provider.VectorStoreDelete), false)},
		{"vector_stores/{id}/search", g.endpoint(ops(provider.VectorStoreSearch), false)},
		{"vector_stores/{id}/files", g.endpoint(ops(provider.VectorStoreFileAdd, provider.VectorStoreFileList), false)},
		{"vector_stores/{id}/files/{sub}", g.endpoint(ops(provider.VectorStoreFileGet, provider.VectorStoreFileDelete), false)},
		{"vector_stores/{id}/files/{sub}/content", g.endpoint(ops(provider.VectorStoreFileContent), false)},
		{"vector_stores/{id}/file_batches", g.endpoint(ops(provider.FileBatchCreate), false)},
		{"vector_stores/{id}/file_batches/{sub}", g.endpoint(ops(provider.FileBatchGet), false)},
		{"vector_stores/{id}/file_batches/{sub}/cancel", g.endpoint(ops(provider.FileBatchCancel), false)},
		{"vector_stores/{id}/file_batches/{sub}/files", g.endpoint(ops(provider.FileBatchFiles), false)},
		{"conversations", g.endpoint(ops(provider.ConversationCreate), false)},
		{"conversations/{id}", g.endpoint(ops(provider.ConversationGet, provider.ConversationUpdate, provider.ConversationDelete), false)},
		{"conversations/{id}/items", g.endpoint(ops(provider.ConversationItemsCreate, provider.ConversationItemsList), false)},
		{"conversations/{id}/items/{sub}", g.endpoint(ops(provider.ConversationItemGet, provider.ConversationItemDelete), false)},
	}
	for _, rt := range rows {
		g.mux.Handle("/v1/"+rt.path, rt.h)
		g.mux.Handle(seedPrefix+"/"+rt.path, rt.h)
		for _, prefix := range azurePrefixes {
			g.mux.Handle(prefix+"/openai/v1/"+rt.path, rt.h)
			g.mux.Handle(prefix+"/openai/"+rt.path, rt.h)
		}
	}
}
