package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/store"
)

// payloadView is one logged prompt and answer in a response.
type payloadView struct {
	RequestID string    `json:"request_id"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Model     string    `json:"model"`
	Prompt    string    `json:"prompt"`
	Response  string    `json:"response"`
}

func viewPayload(p store.Payload) payloadView {
	return payloadView{
		RequestID: p.RequestID, Time: p.Time.UTC(), KeyID: p.KeyID, Model: p.Model,
		Prompt: p.Prompt, Response: p.Response,
	}
}

// listPayloads answers GET /admin/v1/payloads: the logged prompts and
// answers in [from, to) (both optional), filtered by ?key= and ?model=,
// newest first, at most ?limit= of them.
func (h *handler) listPayloads(w http.ResponseWriter, r *http.Request) error {
	q, err := parsePayloadQuery(r.URL.Query())
	if err != nil {
		return err
	}
	payloads, err := h.opts.Store.ListPayloads(r.Context(), q)
	if err != nil {
		return err
	}
	data := make([]payloadView, len(payloads))
	for i, p := range payloads {
		data[i] = viewPayload(p)
	}
	writeJSON(w, http.StatusOK, struct {
		Data []payloadView `json:"data"`
	}{data})
	return nil
}

// getPayload answers GET /admin/v1/payloads/{request_id}.
func (h *handler) getPayload(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("request_id")
	p, err := h.opts.Store.Payload(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return &apierror.Error{
			Status: http.StatusNotFound,
			Message: fmt.Sprintf("no logged prompt for request %q: prompt logging was off for it, "+
				"its retention passed, or its usage record is not written yet", id),
			Type: apierror.TypeNotFound, Param: "request_id", Code: "payload_not_found",
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewPayload(p))
	return nil
}

// parsePayloadQuery reads the query string; every bad value is a 400
// naming its parameter.
func parsePayloadQuery(v url.Values) (q store.PayloadQuery, err error) {
	if err := onlyOnce(v, "from", "to", "key", "model", "limit"); err != nil {
		return q, err
	}
	if s := v.Get("from"); s != "" {
		if q.From, err = parseUsageTime("from", s, false); err != nil {
			return q, err
		}
	}
	if s := v.Get("to"); s != "" {
		if q.To, err = parseUsageTime("to", s, true); err != nil {
			return q, err
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, errBadRequest("from", "invalid_parameter", "from (%s) must be before to (%s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	q.KeyID, q.Model = v.Get("key"), v.Get("model")
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPayloadLimit {
			return q, errBadRequest("limit", "invalid_parameter", "limit=%q; use a number from 1 to %d (default %d)", s, store.MaxPayloadLimit, store.DefaultPayloadLimit)
		}
		q.Limit = n
	}
	return q, nil
}
