package admin

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/store"
)

// Keys, events and attendees: what they share.

// idEncoding spells random ids in lower-case letters and digits: safe in a
// URL path, easy to read aloud, and the same in every case-insensitive
// place an id may be pasted.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID returns prefix and 80 random bits in 16 characters: far too
// many to guess, so an id is no handle for enumerating keys or events.
func randomID(prefix string) string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + idEncoding.EncodeToString(b[:])
}

func newKeyID() string   { return randomID("key_") }
func newEventID() string { return randomID("ev_") }

// accessChanged logs a stored change to keys or events and applies it to
// this replica, as changed does for deployments. attrs never hold a key or
// a hash.
func (h *handler) accessChanged(ctx context.Context, msg string, attrs ...any) {
	h.log.InfoContext(ctx, msg, attrs...)
	if h.opts.Reload == nil {
		return
	}
	if err := h.opts.Reload(context.WithoutCancel(ctx)); err != nil {
		h.log.ErrorContext(ctx, "change stored but not yet applied here; the next poll retries", "err", err)
	}
}

// errNoSecret answers a request for an attendee key on a gateway that has
// no secret to derive one from.
var errNoSecret = &apierror.Error{
	Status:  http.StatusServiceUnavailable,
	Message: "attendee keys need the gateway's secret key: set SPILLWAY_SECRET_KEY to 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`) and restart",
	Type:    apierror.TypeServer, Code: "secret_key_missing",
}

// keyError turns the store's sentinels for a key into answers.
func keyError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuch("key", id)
	}
	return err
}

// eventError turns the store's sentinels for an event into answers.
func eventError(err error, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNoSuch("event", id)
	}
	return err
}

// invalid collects the problems of a key or event body: each names its
// field, and the answer lists them all, so one round trip fixes them.
type invalid struct {
	code     string     // the error code: invalid_key, invalid_event
	names    fieldNames // the dialect's names for the fields, if not ours
	problems []problem
}

func (v *invalid) add(field, format string, args ...any) {
	v.problems = append(v.problems, problem{v.names.name(field), fmt.Sprintf(format, args...)})
}

// err returns nil or a 400 naming the first problem's field and listing
// every problem, one a line.
func (v *invalid) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	lines := make([]string, len(v.problems))
	for i, p := range v.problems {
		lines[i] = p.field + ": " + p.msg
	}
	return errBadRequest(v.problems[0].field, v.code, "%s", strings.Join(lines, "\n"))
}

// nonNegative checks a cap or limit: 0 means none, below that is a mistake.
func (v *invalid) nonNegative(field string, n int64) {
	if n < 0 {
		v.add(field, "must be 0 (no limit) or more, not %d", n)
	}
}

// maxText bounds the free-text fields, so a key or event stays a record
// and not a document store; descriptions get more room.
const (
	maxText        = 256
	maxDescription = 64 << 10
)

// text checks a one-line free-text field: valid UTF-8, no control
// characters, and not over limit bytes.
func (v *invalid) text(field, s string, limit int) {
	v.checkText(field, s, limit, "")
}

// description checks a markdown field, which may hold line breaks and
// tabs.
func (v *invalid) description(field, s string) {
	v.checkText(field, s, maxDescription, "\n\r\t")
}

func (v *invalid) checkText(field, s string, limit int, allowed string) {
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case len(s) > limit:
		v.add(field, "is %d bytes long; the limit is %d", len(s), limit)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && !strings.ContainsRune(allowed, r) }):
		v.add(field, "must not contain control characters")
	}
}

// models checks and tidies an allow-list: names trimmed, duplicates
// dropped, order kept. nil stays nil; it allows every model.
func (v *invalid) models(field string, in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, 0, len(in))
	for i, m := range in {
		m = strings.TrimSpace(m)
		if m == "" {
			v.add(fmt.Sprintf("%s[%d]", field, i), "is empty; name a model, or send [] to allow every model")
			continue
		}
		v.text(fmt.Sprintf("%s[%d]", field, i), m, maxText)
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// nullable is a JSON field that PATCH can leave out (Set is false), clear
// with null (Set, Null) or set to a value (Set, Raw holds it).
type nullable struct {
	Set  bool
	Null bool
	Raw  json.RawMessage
}

func (n *nullable) UnmarshalJSON(b []byte) error {
	n.Set = true
	n.Null = string(b) == "null"
	n.Raw = append(n.Raw[:0], b...)
	return nil
}

// timeOrNil renders a zero time as null.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// orEmpty renders a nil list as [] rather than null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// decodeStrict is decode for the native key, event and attendee bodies:
// an unknown field is named with hint, which says where the right ones
// are.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any, hint string) error {
	err := decode(w, r, v, true)
	var e *apierror.Error
	if errors.As(err, &e) && e.Code == "unknown_field" {
		return errBadRequest(e.Param, "unknown_field", "unknown field %q; remove it (%s)", e.Param, hint)
	}
	return err
}

// writeNoContent answers 204.
func writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
