package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Self-registration: POST /api/v1/attendee/event/{event_id}/register,
// open to anyone who knows the event's shared code. Nothing about an event
// can be learnt here without its code: an unknown event, an inactive or
// ended one, one without a code and a wrong code get the same 404, byte
// for byte, and failures are rate limited per client address.

// Failed registrations allowed per address and window before every
// attempt from it is refused until the window ends.
const (
	registerFailures = 10
	registerWindow   = time.Minute
)

// errNoEventOrCode is the one answer to every registration that does not
// name an open event with its right code.
var errNoEventOrCode = &apierror.Error{
	Status:  http.StatusNotFound,
	Message: "no such event, or wrong code",
	Type:    apierror.TypeNotFound, Code: "event_not_found",
}

func errRegisterLimited(retry time.Duration) *apierror.Error {
	return &apierror.Error{
		Status:  http.StatusTooManyRequests,
		Message: fmt.Sprintf("too many failed registrations from your address; try again in %d s", apierror.RetryAfterSeconds(retry)),
		Type:    apierror.TypeRateLimit, Code: "too_many_registrations", RetryAfter: retry,
	}
}

// errKeyRevoked tells an attendee whose key was revoked whom to ask.
func errKeyRevoked(ev store.Event) *apierror.Error {
	who := "the event's organiser"
	switch {
	case ev.OrganizerName != "" && ev.OrganizerEmail != "":
		who = fmt.Sprintf("the organiser (%s, %s)", ev.OrganizerName, ev.OrganizerEmail)
	case ev.OrganizerEmail != "":
		who = fmt.Sprintf("the organiser (%s)", ev.OrganizerEmail)
	case ev.OrganizerName != "":
		who = fmt.Sprintf("the organiser (%s)", ev.OrganizerName)
	}
	return &apierror.Error{
		Status:  http.StatusForbidden,
		Message: "your key for this event was revoked; ask " + who + " for a new one",
		Type:    apierror.TypePermission, Code: "api_key_revoked",
	}
}

// registerBody is the seed's registration body; email is accepted for
// attendee.
type registerBody struct {
	SharedCode string `json:"shared_code"`
	Attendee   string `json:"attendee"`
	Email      string `json:"email"`
}

// register answers POST /api/v1/attendee/event/{event_id}/register: 201
// with a new key, 200 with the key the attendee already has, 403 when it
// was revoked.
func (h *handler) register(w http.ResponseWriter, r *http.Request) error {
	// Without a secret no key can be issued to anyone; saying so before
	// looking at the event tells nothing about it.
	if len(h.opts.Secret) == 0 {
		return errNoSecret
	}
	var b registerBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	attendee, err := attendeeBody{Attendee: b.Attendee, Email: b.Email}.attendee()
	if err != nil {
		return err
	}
	if b.SharedCode == "" {
		return errBadRequest("shared_code", "invalid_registration", "shared_code is required: the code the organiser gave you")
	}

	ctx := r.Context()
	limitKey := "register:" + clientAddr(r)
	if retry, limited := h.registerLimited(r, limitKey); limited {
		return errRegisterLimited(retry)
	}

	ev, err := h.opts.Store.GetEvent(ctx, r.PathValue("event_id"))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// The code is compared even when there is no event to compare it
	// with, against a hash no code has, so that the work done does not
	// tell the two apart.
	var want [sha256.Size]byte
	registrable := err == nil && ev.Active && h.opts.Now().Before(ev.End) && len(ev.SharedCodeHash) == sha256.Size
	if registrable {
		copy(want[:], ev.SharedCodeHash)
	}
	presented := auth.Hash(b.SharedCode)
	if subtle.ConstantTimeCompare(presented[:], want[:]) != 1 || !registrable {
		return h.registerFailed(r, limitKey)
	}

	got, err := h.attendeeKey(ctx, ev, attendee, false)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if got.isNew {
		status = http.StatusCreated
	}
	writeJSON(w, status, map[string]string{"event_id": ev.ID, "attendee": attendee, "api_key": got.key})
	return nil
}

// registerLimited reports whether key has used up its failures in this
// window, and how long until the next one. A limiter that fails lets the
// attempt through: registration must not stop with Redis, and a code is
// still needed.
func (h *handler) registerLimited(r *http.Request, key string) (time.Duration, bool) {
	d, err := h.opts.Limiter.Take(r.Context(), key, registerFailures, registerWindow, 0)
	if err != nil {
		h.log.WarnContext(r.Context(), "registration rate limit unavailable; allowing the attempt", "err", err)
		return 0, false
	}
	if d.Remaining > 0 {
		return 0, false
	}
	// Zero remaining: taking one more is refused and says until when. If
	// the window turned in between, it was taken: give it back.
	d, err = h.opts.Limiter.Take(r.Context(), key, registerFailures, registerWindow, 1)
	if err != nil {
		h.log.WarnContext(r.Context(), "registration rate limit unavailable; allowing the attempt", "err", err)
		return 0, false
	}
	if d.Allowed {
		if err := h.opts.Limiter.Adjust(r.Context(), key, registerWindow, -1); err != nil {
			h.log.WarnContext(r.Context(), "registration rate limit: could not return a unit", "err", err)
		}
		return 0, false
	}
	return d.RetryAfter, true
}

// registerFailed counts a failed registration and answers it: the common
// 404, or 429 once this failure is one too many.
func (h *handler) registerFailed(r *http.Request, key string) error {
	d, err := h.opts.Limiter.Take(r.Context(), key, registerFailures, registerWindow, 1)
	if err != nil {
		h.log.WarnContext(r.Context(), "registration rate limit unavailable; failure not counted", "err", err)
		return errNoEventOrCode
	}
	if !d.Allowed {
		return errRegisterLimited(d.RetryAfter)
	}
	return errNoEventOrCode
}

// clientAddr is the address failures are counted against: the peer of
// the connection, never a header a client can set. IPv6 clients are
// counted per /64, the block one host is usually given, so that walking
// through its addresses does not buy more guesses.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
