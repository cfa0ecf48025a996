package identity

import (
	"context"
	"errors"
	"html"
	"net/http"
	"strings"

	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/store"
)

// Attendees of an event register by signing in with a provider whose
// config says attendees: true, when the event allows it
// (signin_registration): GET /register/{event} says how, and the sign-in
// ends on a page with the attendee's key. The attendee is the identity
// (AdminID), so signing in again shows the same key.

// Registration is what Options.Register hands back.
type Registration struct {
	EventName string
	Key       string
	// New reports whether the key was issued just now.
	New bool
}

// RegisterFunc issues attendee's key for an event after a sign-in that
// vouched for email ("" for none). A refusal is an *apierror.Error whose
// message is for the attendee.
type RegisterFunc func(ctx context.Context, eventID, attendee, email string) (Registration, error)

// attendeeProviders are the providers attendees may sign in with.
func (s *Service) attendeeProviders() []provider {
	var out []provider
	for _, p := range s.providers {
		if p.conf().Attendees {
			out = append(out, p)
		}
	}
	return out
}

// openEvent returns the event when it takes sign-in registrations; the
// same page for every other case, so nothing is learnt about others.
func (s *Service) openEvent(w http.ResponseWriter, r *http.Request) (store.Event, bool) {
	ev, err := s.opts.Store.GetEvent(r.Context(), r.PathValue("event"))
	if err != nil || !ev.Active || !ev.SignInRegistration || len(s.attendeeProviders()) == 0 || s.opts.Register == nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "event lookup failed", "err", err)
		}
		s.refuse(w, r, http.StatusNotFound, "No such registration", "No event is open for registration by sign-in at this link; check the link the organiser shared, or register with the event's shared code in the playground.")
		return store.Event{}, false
	}
	return ev, true
}

// registerView is what the registration page shows: the key, or how to
// get one.
type registerView struct {
	Event, Key, Domains string
	New                 bool
	Links               []Link
}

func (s *Service) page(w http.ResponseWriter, _ *http.Request, v registerView) {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<h1 id="register-title">Register for ` + e(v.Event) + `</h1>`)
	if v.Key != "" {
		already := ""
		if !v.New {
			already = " (the one you already had)"
		}
		b.WriteString(`<p>Your key for ` + e(v.Event) + already + `:</p>
<p><code id="attendee-key">` + e(v.Key) + `</code></p>
<p>Keep it: use it in the <a href="/">playground</a> or as an OpenAI API key with this gateway. Signing in again shows this same key.</p>`)
	} else {
		b.WriteString(`<p id="register-how">Sign in to get your key for this event`)
		if v.Domains != "" {
			b.WriteString(`; only verified email addresses at ` + e(v.Domains) + ` are accepted`)
		}
		b.WriteString(`:</p>
<ul class="signin-providers">`)
		for _, l := range v.Links {
			b.WriteString(`<li><a class="button" href="` + e(l.URL) + `">Sign in with ` + e(l.Name) + `</a></li>`)
		}
		b.WriteString(`</ul>`)
	}
	w.Header().Set("Cache-Control", "no-store")
	writePage(w, http.StatusOK, "Register for "+v.Event, b.String())
}

// registerInfo serves GET /register/{event}: how to register.
func (s *Service) registerInfo(w http.ResponseWriter, r *http.Request) {
	ev, ok := s.openEvent(w, r)
	if !ok {
		return
	}
	v := registerView{Event: ev.Name, Domains: strings.Join(ev.SignInDomains, ", ")}
	for _, p := range s.attendeeProviders() {
		v.Links = append(v.Links, Link{Name: p.name(), URL: "/register/" + ev.ID + "/signin/" + p.conf().ID})
	}
	s.page(w, r, v)
}

// registerSignIn serves GET /register/{event}/signin/{provider}.
func (s *Service) registerSignIn(w http.ResponseWriter, r *http.Request) {
	ev, ok := s.openEvent(w, r)
	if !ok {
		return
	}
	p, ok := s.byID[r.PathValue("provider")]
	if !ok || !p.conf().Attendees {
		s.refuse(w, r, http.StatusNotFound, "No such sign-in", "Attendees cannot sign in with that provider here; go back and pick one of the buttons.")
		return
	}
	s.startFlow(w, r, p, ev.ID)
}

// registered finishes an attendee's sign-in: the key, or why not.
func (s *Service) registered(w http.ResponseWriter, r *http.Request, eventID string, ident Identity) {
	attendee := ident.AdminID()
	reg, err := s.opts.Register(r.Context(), eventID, attendee, ident.Email)
	var known *apierror.Error
	switch {
	case errors.As(err, &known):
		s.audit(r.Context(), r, store.AuditEntry{Actor: attendee, Resource: "attendees", Action: "register_failed", ResourceID: eventID, Status: known.Status})
		s.refuse(w, r, known.Status, "Registration refused", known.Message)
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "attendee registration failed", "event", eventID, "err", err)
		s.refuse(w, r, http.StatusServiceUnavailable, "Registration unavailable", "The gateway could not issue your key; try again. The gateway log has the details.")
		return
	}
	if reg.New {
		s.audit(r.Context(), r, store.AuditEntry{Actor: attendee, Resource: "attendees", Action: "register", ResourceID: eventID, Status: http.StatusOK})
	}
	s.page(w, r, registerView{Event: reg.EventName, Key: reg.Key, New: reg.New})
}
