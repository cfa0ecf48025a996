package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/store"
)

// Attendees hands out attendee keys to attendees who registered by
// signing in with an identity provider (internal/identity), the same keys
// the shared code and the organiser hand out: one per event and attendee,
// derived, so signing in again gives the same key back.
type Attendees struct{ h *handler }

// NewAttendees returns the registrar for o's store and secret.
func NewAttendees(o Options) *Attendees {
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &handler{opts: o, log: o.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	return &Attendees{h: h}
}

// Registered is the outcome of a registration.
type Registered struct {
	Event store.Event
	// Key is the attendee's key; New reports whether they just got it.
	Key string
	New bool
}

// Register issues attendee's key for eventID after a sign-in that vouched
// for email ("" when the provider gave no verified email). The event must
// exist, be active, not be over, allow sign-in registration, and, when
// it names domains, email must be of one of them. Refusals are
// *apierror.Error with a message for the attendee.
func (a *Attendees) Register(ctx context.Context, eventID, attendee, email string) (Registered, error) {
	ev, err := a.h.opts.Store.GetEvent(ctx, eventID)
	if errors.Is(err, store.ErrNotFound) {
		return Registered{}, errNoSignInEvent
	}
	if err != nil {
		return Registered{}, err
	}
	now := a.h.opts.Now()
	switch {
	case !ev.Active || !ev.SignInRegistration:
		return Registered{}, errNoSignInEvent
	case !ev.End.IsZero() && !now.Before(ev.End):
		return Registered{}, &apierror.Error{Status: http.StatusForbidden, Message: fmt.Sprintf("%s is over; registration closed", ev.Name), Type: apierror.TypePermission, Code: "event_over"}
	}
	if len(ev.SignInDomains) > 0 {
		_, domain, _ := strings.Cut(email, "@")
		if email == "" || !slices.Contains(ev.SignInDomains, strings.ToLower(domain)) {
			return Registered{}, &apierror.Error{
				Status: http.StatusForbidden,
				Message: fmt.Sprintf("%s is open to verified email addresses at %s; the account you signed in with has %s. Sign in with an account of one of those domains.",
					ev.Name, strings.Join(ev.SignInDomains, ", "), orText(email, "no verified email")),
				Type: apierror.TypePermission, Code: "email_domain_not_allowed",
			}
		}
	}
	is, err := a.h.attendeeKey(ctx, ev, attendee, false)
	if err != nil {
		return Registered{}, err
	}
	return Registered{Event: ev, Key: is.key, New: is.isNew}, nil
}

// errNoSignInEvent answers for an event that does not exist, is switched
// off or does not take sign-in registrations: the same words for each,
// so nothing is learnt about events that are not open.
var errNoSignInEvent = &apierror.Error{
	Status:  http.StatusNotFound,
	Message: "no event open for registration by sign-in with that code; check the link the organiser shared",
	Type:    apierror.TypeNotFound, Code: "event_not_found",
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
