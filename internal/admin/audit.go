package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// The audit log is written here, at the route layer, once for every
// request to a private route that could change something (any method but
// GET and HEAD), whatever its outcome: a route added later is audited
// without a line of its own. What changed is read from the resource
// itself: "before" is the answer its GET route gave just before the
// change, "after" the answer of the change; both with secrets redacted.

// maxAuditDocument caps what an entry keeps of an answer.
const maxAuditDocument = 64 << 10

// audited returns a private route's guarded handler; one that changes
// something also writes one audit entry per request, refused or not. The
// "before" snapshot is read only once the caller's role is allowed: a
// refused write neither costs a read nor shows its caller's entry the
// resource it may not change.
func (h *handler) audited(rt route) func(http.ResponseWriter, *http.Request) error {
	method, pattern, _ := strings.Cut(rt.pattern, " ")
	if method == http.MethodGet || method == http.MethodHead {
		return h.guard(rt)
	}
	resource, action := auditNames(method, pattern)
	snapshot := snapshotPath(pattern)
	return func(w http.ResponseWriter, r *http.Request) error {
		var before []byte
		rec := &recorder{ResponseWriter: w}
		err := h.permit(rt, r)
		if err == nil {
			if snapshot >= 0 {
				before = h.snapshot(r, snapshot)
			}
			err = rt.fn(rec, r)
		}
		status := rec.status
		var known *apierror.Error
		switch {
		case errors.As(err, &known):
			status = known.Status
		case err != nil:
			status = http.StatusInternalServerError
		case status == 0:
			status = http.StatusOK
		}
		a, _ := auth.AdminFrom(r.Context())
		e := store.AuditEntry{
			At: h.opts.Now(), Actor: a.ID, Role: string(a.Role), Address: auth.PeerHost(r),
			Resource: resource, ResourceID: r.PathValue("id"), Action: action, Status: status,
			Before: before,
		}
		if err == nil && status < 300 {
			e.After = redactJSON(rec.body.Bytes())
			if e.ResourceID == "" {
				e.ResourceID = documentID(e.After)
			}
		}
		h.appendAudit(r.Context(), e)
		return err
	}
}

// appendAudit stores an entry. The change it describes is already made,
// so a store failure is logged, loudly, rather than answered.
func (h *handler) appendAudit(ctx context.Context, e store.AuditEntry) {
	if _, err := h.opts.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		h.log.ErrorContext(ctx, "audit entry not stored", "actor", e.Actor, "resource", e.Resource, "action", e.Action, "id", e.ResourceID, "err", err)
	}
}

// recorder keeps the status and the start of the body of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := maxAuditDocument - r.body.Len(); room > 0 {
		r.body.Write(b[:min(len(b), room)])
	}
	return r.ResponseWriter.Write(b)
}

// auditNames turns a route pattern into the resource and action an entry
// records, the same for every dialect: the seed's modeldeployment and
// LiteLLM's /model/ are "deployments".
func auditNames(method, pattern string) (resource, action string) {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	last := segs[len(segs)-1]
	switch {
	case strings.HasPrefix(pattern, "/model/"):
		return "deployments", last
	case strings.HasPrefix(pattern, "/key/"):
		return "keys", last
	case strings.HasPrefix(pattern, "/team/"):
		return "teams", last
	case strings.Contains(pattern, "/modeldeployment/"):
		return "deployments", last
	case strings.Contains(pattern, "/management/"):
		return "events", "create"
	case last == "attendees":
		return "attendees", "issue"
	}
	// /admin/v1/<resource>[/{id}[/<verb>]]
	resource = segs[min(2, len(segs)-1)]
	switch {
	case len(segs) > 4:
		return resource, last
	case method == http.MethodPost:
		return resource, "create"
	case method == http.MethodPatch, method == http.MethodPut:
		return resource, "update"
	case method == http.MethodDelete:
		return resource, "delete"
	}
	return resource, strings.ToLower(method)
}

// snapshotPath returns how many path segments of a request name the
// resource a route changes, for a route of the shape
// /admin/v1/<resource>/{id}[/<verb>]; -1 for other routes, whose resource
// has no GET of its own.
func snapshotPath(pattern string) int {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(segs) >= 4 && segs[0] == "admin" && segs[3] == "{id}" && len(segs) <= 5 {
		return 4
	}
	return -1
}

// snapshot returns the redacted answer of GET on the resource r is about
// to change, or nil when there is none the caller may read.
func (h *handler) snapshot(r *http.Request, segments int) []byte {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) < segments {
		return nil
	}
	get, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "/"+strings.Join(segs[:segments], "/"), nil)
	if err != nil {
		return nil
	}
	rec := &bufferWriter{header: http.Header{}}
	h.private.ServeHTTP(rec, get)
	if rec.status != http.StatusOK {
		return nil
	}
	return redactJSON(rec.body.Bytes())
}

// bufferWriter is an in-memory ResponseWriter for snapshots.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(s int) {
	if b.status == 0 {
		b.status = s
	}
}
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if room := maxAuditDocument - b.body.Len(); room > 0 {
		b.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// redactJSON returns doc with every secret-bearing field replaced, or nil
// when doc is not a JSON object or array (an empty 204, a truncated
// answer).
func redactJSON(doc []byte) []byte {
	var v any
	if len(bytes.TrimSpace(doc)) == 0 || json.Unmarshal(doc, &v) != nil {
		return nil
	}
	out, err := json.Marshal(redact(v))
	if err != nil {
		return nil
	}
	return out
}

// redacted replaces a secret's value in an audit document.
const redacted = "[redacted]"

func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if secretField(k) {
				if x != nil && x != "" {
					v[k] = redacted
				}
				continue
			}
			v[k] = redact(x)
		}
	case []any:
		for i, x := range v {
			v[i] = redact(x)
		}
	}
	return v
}

// secretField reports whether a field of a management answer or body can
// hold a secret: a key, a token, a code, a password. Counts such as
// max_tokens and ids such as key_id are not secrets.
func secretField(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "event_code": // the seed's name for an event's id
		return false
	case "key", "token", "code", "shared_code", "secret", "password", "master_key", "api_key", "endpoint_key":
		return true
	}
	return strings.HasSuffix(n, "_key") || strings.HasSuffix(n, "_token") || strings.HasSuffix(n, "_secret") ||
		strings.Contains(n, "password") || strings.HasSuffix(n, "_code")
}

// documentID is the "id" (or the seed's "event_code") of an answer.
func documentID(doc []byte) string {
	var v struct {
		ID        any    `json:"id"`
		EventCode string `json:"event_code"`
	}
	if json.Unmarshal(doc, &v) != nil {
		return ""
	}
	if s, ok := v.ID.(string); ok && s != "" {
		return s
	}
	return v.EventCode
}

// auditEntryView is one entry of GET /admin/v1/audit.
type auditEntryView struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	Role       string          `json:"role"`
	Address    string          `json:"address"`
	Resource   string          `json:"resource"`
	ResourceID string          `json:"resource_id"`
	Action     string          `json:"action"`
	Status     int             `json:"status"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
}

// listAudit answers GET /admin/v1/audit: entries newest first, filtered
// by ?actor=, ?resource=, ?action=, ?from= and ?to= (RFC 3339), a page of
// ?limit= (default 100, at most 1000) at a time; ?cursor= is the previous
// page's next_cursor.
func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	if err := onlyOnce(v, "actor", "resource", "action", "from", "to", "cursor", "limit"); err != nil {
		return err
	}
	q := store.AuditQuery{Actor: v.Get("actor"), Resource: v.Get("resource"), Action: v.Get("action"), After: v.Get("cursor"), Limit: 100}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return errBadRequest(p.name, "invalid_parameter", "%s: want an RFC 3339 time such as 2026-12-01T00:00:00Z, not %q", p.name, s)
			}
			*p.to = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return errBadRequest("limit", "invalid_parameter", "limit: want a number from 1 to 1000, not %q", s)
		}
		q.Limit = n
	}
	if q.After != "" && !validCursor(q.After) {
		return errBadRequest("cursor", "invalid_parameter", "cursor: pass the next_cursor of the previous page unchanged")
	}
	entries, next, err := h.opts.Store.QueryAudit(r.Context(), q)
	if err != nil {
		return err
	}
	data := make([]auditEntryView, len(entries))
	for i, e := range entries {
		data[i] = auditEntryView{
			ID: e.ID, At: e.At.UTC(), Actor: e.Actor, Role: e.Role, Address: e.Address,
			Resource: e.Resource, ResourceID: e.ResourceID, Action: e.Action, Status: e.Status,
			Before: rawOrNull(e.Before), After: rawOrNull(e.After),
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "next_cursor": next})
	return nil
}

// validCursor reports whether s has the shape of an audit entry id.
func validCursor(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}
