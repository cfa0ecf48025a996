package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/store"
)

// Objects held upstream (files, uploads, batches, vector stores,
// conversations) are recorded with the key that made them. An operator
// can list a key's objects, and revoking a key can delete its files and
// vector stores upstream as well (?delete_objects=true), each reported.

// objectView is one registry entry as the management API shows it.
type objectView struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Key        string    `json:"key"`
	Team       string    `json:"team,omitempty"`
	Event      string    `json:"event,omitempty"`
	Deployment string    `json:"deployment"`
	UpstreamID string    `json:"upstream_id"`
	Purpose    string    `json:"purpose,omitempty"`
	Status     string    `json:"status"`
	Done       bool      `json:"done"`
	Charged    bool      `json:"charged,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

var objectKinds = map[string]bool{store.KindFile: true, store.KindUpload: true, store.KindBatch: true, store.KindVectorStore: true, store.KindConversation: true, store.KindResponse: true}

// listObjects answers GET /admin/v1/objects?key=&kind=&after=&limit=.
func (h *handler) listObjects(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	key, kind := q.Get("key"), q.Get("kind")
	if key == "" {
		return errBadRequest("key", "missing_required_parameter", "name the key whose objects to list: ?key=<key id>")
	}
	if kind != "" && !objectKinds[kind] {
		return errBadRequest("kind", "invalid_value", "kind must be one of file, upload, batch, vector_store, conversation, response, not %q", kind)
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errBadRequest("limit", "invalid_value", "limit must be a whole number from 1 to 1000, not %q", v)
		}
		limit = n
	}
	objs, err := h.opts.Store.ListObjects(r.Context(), store.ObjectQuery{KeyID: key, Kind: kind, After: q.Get("after"), Limit: limit + 1})
	if err != nil {
		return err // serve logs it and answers internal_error
	}
	more := len(objs) > limit
	objs = objs[:min(len(objs), limit)]
	views := make([]objectView, 0, len(objs))
	for _, o := range objs {
		views = append(views, viewObject(o))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": views, "has_more": more})
	return nil
}

func viewObject(o store.Object) objectView {
	return objectView{ID: o.ID, Kind: o.Kind, Key: o.KeyID, Team: o.TeamID, Event: o.EventID, Deployment: o.Deployment,
		UpstreamID: o.UpstreamID, Purpose: o.Purpose, Status: o.Status, Done: o.Done, Charged: o.Charged, CreatedAt: o.CreatedAt}
}

// objectDeletion is what became of one object a revocation deleted.
type objectDeletion struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"`
	Deployment string `json:"deployment"`
	// Result is "deleted", "already_gone" (the upstream did not know
	// it), "deployment_gone", or "failed".
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// deletedKinds are what a revocation deletes upstream, with the
// operation that does it.
var deletedKinds = []struct {
	kind string
	op   provider.Operation
}{{store.KindFile, provider.FileDelete}, {store.KindVectorStore, provider.VectorStoreDelete}}

// deleteObjectsOf deletes the files and vector stores of key upstream and
// from the registry, one after the other.
func (h *handler) deleteObjectsOf(ctx context.Context, key string) []objectDeletion {
	out := []objectDeletion{}
	for _, k := range deletedKinds {
		after := ""
		for {
			objs, err := h.opts.Store.ListObjects(ctx, store.ObjectQuery{KeyID: key, Kind: k.kind, After: after, Ascending: true, Limit: 500})
			if err != nil {
				out = append(out, objectDeletion{Kind: k.kind, Result: "failed", Error: "cannot list the key's objects: " + err.Error()})
				break
			}
			for _, o := range objs {
				out = append(out, h.deleteUpstream(ctx, o, k.op))
			}
			if len(objs) < 500 {
				break
			}
			after = objs[len(objs)-1].ID
		}
	}
	return out
}

func (h *handler) deleteUpstream(ctx context.Context, o store.Object, op provider.Operation) objectDeletion {
	res := objectDeletion{ID: o.ID, Kind: o.Kind, Deployment: o.Deployment}
	if h.opts.Router == nil {
		res.Result, res.Error = "failed", "no router"
		return res
	}
	d, ok := h.opts.Router.Deployment(o.Deployment)
	if !ok {
		res.Result = "deployment_gone"
		return res
	}
	status, err := h.sendDelete(ctx, d.Target, op, o.UpstreamID)
	switch {
	case err != nil:
		res.Result, res.Error = "failed", err.Error()
		return res
	case status == http.StatusNotFound:
		res.Result = "already_gone"
	case status >= 200 && status <= 299:
		res.Result = "deleted"
	default:
		res.Result, res.Error = "failed", "the upstream answered "+strconv.Itoa(status)
		return res
	}
	if err := h.opts.Store.DeleteObject(ctx, o.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		res.Error = "deleted upstream, but not from the registry: " + err.Error()
	}
	return res
}

func (h *handler) sendDelete(ctx context.Context, t *provider.Target, op provider.Operation, upstream string) (int, error) {
	u := t.ObjectURL(op, upstream)
	if u == nil {
		return 0, errors.New("the deployment does not serve " + op.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil)
	if err != nil {
		return 0, err
	}
	if err := t.Authorize(ctx, req.Header); err != nil {
		return 0, err
	}
	rt := h.opts.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// objectsWarning tells an operator who removes or deactivates a
// deployment whose objects it holds. An inactive deployment still answers
// for its objects (their ids reach it; it only takes no new traffic); a
// deleted one cannot, and their ids answer 404 object_deployment_gone.
type objectsWarning struct {
	Message string         `json:"message"`
	Objects int            `json:"objects"`
	Keys    map[string]int `json:"keys"`
}

// objectsOn returns the warning for deployment id, or nil when it holds
// no objects (or the registry cannot be read, which is logged). consequence
// ends the message.
func (h *handler) objectsOn(ctx context.Context, id, consequence string) *objectsWarning {
	objs, err := h.opts.Store.ListObjects(ctx, store.ObjectQuery{Deployment: id, Limit: store.MaxObjectLimit})
	if err != nil {
		h.log.ErrorContext(ctx, "objects on a deployment", "deployment", id, "err", err)
		return nil
	}
	if len(objs) == 0 {
		return nil
	}
	w := &objectsWarning{Objects: len(objs), Keys: map[string]int{}}
	for _, o := range objs {
		w.Keys[o.KeyID]++
	}
	n := strconv.Itoa(len(objs))
	if len(objs) == store.MaxObjectLimit {
		n = "at least " + n
	}
	w.Message = n + " objects (files, batches, vector stores, conversations) of " + strconv.Itoa(len(w.Keys)) +
		" keys live on deployment " + id + "; " + consequence + "; GET /admin/v1/objects?key= lists a key's objects"
	return w
}
