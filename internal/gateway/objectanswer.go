package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/provider"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
)

// An answer about a file, upload or batch is a small JSON object whose ids
// (its own, a batch's input and output files, an upload's file and parts)
// are the upstream's. The gateway reads it whole, signs every id for the
// caller and the deployment that answered (everything an answer names
// lives where it came from, and the caller was allowed to ask), records
// the objects in the registry so lists can show them, and sends it on.
// A file's content is not such an answer: it streams through untouched.

// ObjectRegistry is where the gateway records the objects it hands out;
// store.Store implements it.
type ObjectRegistry interface {
	PutObject(ctx context.Context, o store.Object) error
	GetObject(ctx context.Context, id string) (store.Object, error)
	ListObjects(ctx context.Context, q store.ObjectQuery) ([]store.Object, error)
	DeleteObject(ctx context.Context, id string) error
	ClaimCharge(ctx context.Context, id string) (bool, error)
}

// maxObjectAnswer bounds an object answer read whole (a page of a
// conversation's items can be large); a larger one is refused, never
// sent cut short or with the upstream's ids.
const maxObjectAnswer = 32 << 20

// objectIDKeys are the fields of an answer that hold object ids.
var objectIDKeys = map[string]bool{"id": true, "file_id": true, "input_file_id": true, "output_file_id": true, "error_file_id": true, "upload_id": true, "vector_store_id": true}

// kinds maps an answer's "object" field to the registry's kind.
var kinds = map[string]string{"file": store.KindFile, "upload": store.KindUpload, "batch": store.KindBatch, "vector_store": store.KindVectorStore, "conversation": store.KindConversation}

// terminal statuses: the object will not change any more.
var terminal = map[string]bool{"completed": true, "failed": true, "expired": true, "cancelled": true, "processed": true, "error": true, "deleted": true}

// answersObject reports whether op's answer is an object answer.
func answersObject(op provider.Operation) bool {
	return op.Spec().Kind != "" && op != provider.FileContent
}

// respondObject sends an object answer with its ids signed.
func (g *Gateway) respondObject(req *exchange, pick router.Pick, up *upstream, o router.Outcome) error {
	defer up.close()
	w, r, res := req.w, req.r, &req.res
	body := append([]byte(nil), up.head...)
	rest, err := io.ReadAll(io.LimitReader(up.body(), maxObjectAnswer+1-int64(len(body))))
	body = append(body, rest...)
	if err == nil && len(body) > maxObjectAnswer {
		g.router.Report(pick, o, up.latency)
		return &apierror.Error{Status: http.StatusBadGateway, Message: "the upstream's answer is larger than " + strconv.Itoa(maxObjectAnswer>>20) + " MiB, too large for the gateway to rewrite its ids; ask for a smaller page (limit)", Type: apierror.TypeUpstream, Code: "answer_too_large"}
	}
	if err != nil {
		fail := router.ClassifyError(r.Context(), err)
		g.router.Report(pick, fail, up.latency)
		if fail.Verdict == router.ClientGone {
			return errClientGone
		}
		return &apierror.Error{Status: http.StatusBadGateway, Message: "the upstream's answer broke off: " + fail.Reason, Type: apierror.TypeUpstream, Code: "upstream_error"}
	}
	h := g.answerHeader(req, pick, up)
	if res.status >= 200 && res.status <= 299 {
		if signed, ok := g.signAnswer(req, pick.ID(), body); ok {
			body = signed
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(res.status)
	res.ttfb = time.Since(req.start)
	_, werr := w.Write(body)
	if up.span != nil {
		up.endSpan(o, nil)
	}
	if werr != nil {
		g.router.Report(pick, router.Outcome{Verdict: router.ClientGone}, up.latency)
		return errClientGone
	}
	g.router.Report(pick, o, up.latency)
	return nil
}

// found is an object named in an answer, before its ids were signed.
type found struct {
	kind, upstream, status, purpose string
	v                               map[string]any
}

// signAnswer signs the ids of a JSON answer and records its objects. It
// reports false when the answer is not a JSON object (passed on as is).
func (g *Gateway) signAnswer(req *exchange, deployment string, body []byte) ([]byte, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v map[string]any
	if d.Decode(&v) != nil {
		return body, false
	}
	owner := ownerOf(req.principal)
	var objs []found
	collect(v, &objs)
	g.signIDs(v, deployment, owner)
	out, err := marshalAnswer(v)
	if err != nil {
		return body, false
	}
	g.register(req, deployment, objs)
	return out, true
}

// collect finds the objects of an answer: itself and an upload's file.
func collect(v map[string]any, out *[]found) {
	kind, ok := kinds[str(v["object"])]
	if ok && str(v["id"]) != "" {
		*out = append(*out, found{kind: kind, upstream: str(v["id"]), status: str(v["status"]), purpose: str(v["purpose"]), v: v})
	}
	if f, ok := v["file"].(map[string]any); ok {
		collect(f, out)
	}
}

func str(v any) string { s, _ := v.(string); return s }

// signIDs replaces every id in v by the gateway's.
func (g *Gateway) signIDs(v any, deployment, owner string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && objectIDKeys[k] && s != "" {
				x[k] = g.encodeObject(deployment, owner, s)
				continue
			}
			g.signIDs(e, deployment, owner)
		}
	case []any:
		for _, e := range x {
			g.signIDs(e, deployment, owner)
		}
	}
}

func marshalAnswer(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// register records the objects of an answer: a deletion removes it, any
// other answer creates or refreshes it. Lists are ordered by when the
// registry first saw an object, to the millisecond (upstreams give
// seconds, which leaves objects made together in no clear order). A
// registry failure does not fail the request (the object exists upstream,
// and its id works without the registry); it is logged, and the object is
// missing from lists.
func (g *Gateway) register(req *exchange, deployment string, objs []found) {
	if g.objects == nil {
		return
	}
	ctx := context.WithoutCancel(req.r.Context())
	owner := ownerOf(req.principal)
	if req.op == provider.FileDelete || req.op == provider.VectorStoreDelete || req.op == provider.ConversationDelete {
		err := g.objects.DeleteObject(ctx, req.object.id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			g.log.Error("object registry: delete", "request_id", req.id, "object", req.object.id, "err", err)
		}
		return
	}
	for _, f := range objs {
		data, err := marshalAnswer(f.v)
		if err != nil {
			continue
		}
		o := store.Object{
			ID: g.encodeObject(deployment, owner, f.upstream), Kind: f.kind,
			Deployment: deployment, UpstreamID: f.upstream, Purpose: f.purpose, Status: f.status,
			Data: string(bytes.TrimRight(data, "\n")), Done: f.kind != store.KindBatch || terminal[f.status],
		}
		stampOwner(&o, req.principal)
		if err := g.objects.PutObject(ctx, o); err != nil {
			g.log.Error("object registry: put", "request_id", req.id, "object", o.ID, "err", err)
		}
	}
}
