package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/store"
)

// Events: /admin/v1/events. An event's start and end are given as the
// organiser's wall clock in the event's time zone and stored as instants
// in UTC; the shared code attendees register with is stored as its hash.

// minSharedCode is the shortest shared code accepted. Guessing is rate
// limited per address, but a code of a few digits still falls to a
// patient botnet within an event's lifetime.
const minSharedCode = 6

// eventBody is an event as POST and PATCH /admin/v1/events take it. A nil
// field is absent, so PATCH changes only what it names.
type eventBody struct {
	Name            *string  `json:"name"`
	Description     *string  `json:"description"`
	Start           *string  `json:"start"`
	End             *string  `json:"end"`
	TimeZone        *string  `json:"time_zone"`
	MaxTokenCap     *int     `json:"max_token_cap"`
	DailyRequestCap *int     `json:"daily_request_cap"`
	Models          []string `json:"models"`
	OrganizerName   *string  `json:"organizer_name"`
	OrganizerEmail  *string  `json:"organizer_email"`
	URL             *string  `json:"url"`
	URLText         *string  `json:"url_text"`
	// SharedCode sets the self-registration code; "" turns self
	// registration off.
	SharedCode  *string `json:"shared_code"`
	Active      *bool   `json:"active"`
	LogPayloads *bool   `json:"log_payloads"`
	// SignInRegistration lets attendees register by signing in with an
	// identity provider; SignInDomains limits it to emails of those
	// domains (docs/identity.md).
	SignInRegistration *bool    `json:"signin_registration"`
	SignInDomains      []string `json:"signin_domains"`
	// Owner hands the event to another admin identity; only an owner may
	// change it (roles.go).
	Owner *string `json:"owner"`

	// The read-only fields of an answer are accepted, so a client may GET
	// an event, edit it and send it back; id must match.
	ID               *string         `json:"id"`
	SelfRegistration json.RawMessage `json:"self_registration"`
	Attendees        json.RawMessage `json:"attendees"`
	CreatedAt        json.RawMessage `json:"created_at"`
	UpdatedAt        json.RawMessage `json:"updated_at"`
}

// apply sets the fields b holds on e and checks the result, naming every
// problem as names says (nil: as the native API does). A new start or end is read in the new time zone when the body
// changes it, else in the event's; changing only the time zone keeps the
// instants and changes how they are shown.
func (b *eventBody) apply(e *store.Event, creating bool, names fieldNames) error {
	v := invalid{code: "invalid_event", names: names}
	if b.ID != nil && *b.ID != e.ID {
		if creating {
			v.add("id", "is chosen by the gateway; leave it out")
		} else {
			v.add("id", "cannot change (%q in the body, %q in the path)", *b.ID, e.ID)
		}
	}
	if b.Name != nil {
		e.Name = strings.TrimSpace(*b.Name)
	}
	if e.Name == "" {
		v.add("name", "is required: the name attendees see")
	}
	v.text("name", e.Name, maxText)

	if b.Description != nil {
		e.Description = *b.Description
		v.description("description", e.Description)
	}

	if b.TimeZone != nil {
		e.TimeZone = strings.TrimSpace(*b.TimeZone)
	}
	if e.TimeZone == "" {
		e.TimeZone = "UTC"
	}
	loc, tzErr := loadZone(e.TimeZone)
	if tzErr != "" {
		v.add("time_zone", "%s", tzErr)
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
		src  *string
	}{{"start", &e.Start, b.Start}, {"end", &e.End, b.End}} {
		switch {
		case f.src != nil && loc != nil:
			t, msg := parseEventTime(strings.TrimSpace(*f.src), loc)
			if msg != "" {
				v.add(f.name, "%s", msg)
				continue
			}
			*f.dst = t
		case f.src == nil && creating:
			v.add(f.name, "is required: a time such as 2026-12-01T09:00:00 in time_zone, or with an offset")
		}
	}
	if !e.Start.IsZero() && !e.End.IsZero() && !e.End.After(e.Start) {
		v.add("end", "%s must be after start (%s)", e.End.Format(time.RFC3339), e.Start.Format(time.RFC3339))
	}

	for _, f := range []struct {
		name string
		dst  *int
		src  *int
	}{{"max_token_cap", &e.MaxTokenCap, b.MaxTokenCap}, {"daily_request_cap", &e.DailyRequestCap, b.DailyRequestCap}} {
		if f.src != nil {
			*f.dst = *f.src
			v.nonNegative(f.name, int64(*f.src))
		}
	}
	if b.Models != nil {
		e.Models = v.models("models", b.Models)
	}
	for _, f := range []struct {
		name string
		dst  *string
		src  *string
	}{{"organizer_name", &e.OrganizerName, b.OrganizerName}, {"organizer_email", &e.OrganizerEmail, b.OrganizerEmail}, {"url", &e.URL, b.URL}, {"url_text", &e.URLText, b.URLText}} {
		if f.src != nil {
			*f.dst = strings.TrimSpace(*f.src)
			v.text(f.name, *f.dst, maxText)
		}
	}
	if b.OrganizerEmail != nil && e.OrganizerEmail != "" && (!strings.Contains(e.OrganizerEmail, "@") || strings.ContainsAny(e.OrganizerEmail, " <>")) {
		v.add("organizer_email", "%q is not an email address", e.OrganizerEmail)
	}
	if b.URL != nil && e.URL != "" {
		// The playground shows the URL as a link: only the web's schemes,
		// never javascript:.
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.add("url", "%q: want an absolute http:// or https:// URL", e.URL)
		}
	}
	if b.SharedCode != nil {
		e.SharedCodeHash = nil
		if code := *b.SharedCode; code != "" {
			v.text("shared_code", code, maxText)
			if len([]rune(code)) < minSharedCode {
				v.add("shared_code", "is %d characters long; use at least %d, or \"\" to turn self-registration off", len([]rune(code)), minSharedCode)
			}
			h := auth.Hash(code)
			e.SharedCodeHash = h[:]
		}
	}
	if b.Active != nil {
		e.Active = *b.Active
	}
	if b.SignInRegistration != nil {
		e.SignInRegistration = *b.SignInRegistration
	}
	if b.SignInDomains != nil {
		e.SignInDomains = nil
		for i, d := range b.SignInDomains {
			d = strings.ToLower(strings.TrimSpace(d))
			if d == "" || strings.ContainsAny(d, "@ /") || !strings.Contains(d, ".") {
				v.add("signin_domains", "[%d] %q: want a domain such as example.com", i, b.SignInDomains[i])
				continue
			}
			e.SignInDomains = append(e.SignInDomains, d)
		}
	}
	if b.LogPayloads != nil {
		e.LogPayloads = *b.LogPayloads
	}
	return v.err()
}

// loadZone loads an IANA time zone, or says what is wrong with the name.
// "Local" is refused: it would mean the gateway's zone, which an
// organiser neither knows nor controls.
func loadZone(name string) (*time.Location, string) {
	if name == "Local" {
		return nil, `"Local" names the gateway's own zone; use an IANA name such as Australia/Sydney, or UTC`
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "unknown time zone " + strconv.Quote(name) + "; use an IANA name such as Australia/Sydney, Europe/Berlin or UTC"
	}
	return loc, ""
}

// eventZone is the zone an event's times are read and shown in: UTC
// when its stored name no longer loads.
func eventZone(ev store.Event) *time.Location {
	if loc, _ := loadZone(ev.TimeZone); loc != nil {
		return loc
	}
	return time.UTC
}

// wallClockLayouts are the forms of a time without an offset: read as the
// wall clock in the event's time zone. A date alone is its midnight.
var wallClockLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}

// parseEventTime reads an event's start or end. A time with an offset or
// Z is taken as given; a wall-clock time is read in loc. A wall-clock time
// the clocks skip (the hour a DST change jumps over) is refused; one they
// pass twice (when they go back) is the earlier of the two.
func parseEventTime(s string, loc *time.Location) (time.Time, string) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), ""
	}
	for _, layout := range wallClockLayouts {
		wall, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t, ok := inZone(wall, loc)
		if !ok {
			return time.Time{}, strconv.Quote(s) + " does not exist in " + loc.String() + ": the clocks skip it when daylight saving time starts; give another time, or one with an offset"
		}
		return t.UTC(), ""
	}
	return time.Time{}, strconv.Quote(s) + ": want a time such as 2026-12-01T09:00:00 (the wall clock in time_zone) or 2026-11-30T22:00:00Z (with an offset)"
}

// inZone returns the earliest instant whose wall clock in loc reads as
// wall's fields do in UTC, and false when there is none. time.Date leaves
// both cases unspecified, so the instants are found here: each candidate
// is the wall clock minus an offset loc uses around that time.
func inZone(wall time.Time, loc *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, offset := wall.Add(probe).In(loc).Zone()
		t := wall.Add(-time.Duration(offset) * time.Second)
		local := t.In(loc)
		y, m, d := local.Date()
		wy, wm, wd := wall.Date()
		same := y == wy && m == wm && d == wd && local.Hour() == wall.Hour() &&
			local.Minute() == wall.Minute() && local.Second() == wall.Second() && local.Nanosecond() == wall.Nanosecond()
		if same && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	return best, found
}

// eventView is an event as the API answers it. The shared code is never
// shown; SelfRegistration tells whether there is one.
type eventView struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Description        string    `json:"description"`
	Start              time.Time `json:"start"`
	End                time.Time `json:"end"`
	TimeZone           string    `json:"time_zone"`
	MaxTokenCap        int       `json:"max_token_cap"`
	DailyRequestCap    int       `json:"daily_request_cap"`
	Models             []string  `json:"models"`
	OrganizerName      string    `json:"organizer_name"`
	OrganizerEmail     string    `json:"organizer_email"`
	URL                string    `json:"url"`
	URLText            string    `json:"url_text"`
	SelfRegistration   bool      `json:"self_registration"`
	Active             bool      `json:"active"`
	LogPayloads        bool      `json:"log_payloads"`
	Attendees          int       `json:"attendees"`
	SignInRegistration bool      `json:"signin_registration"`
	SignInDomains      []string  `json:"signin_domains"`
	Owner              string    `json:"owner"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func viewEvent(e store.Event, attendees int) eventView {
	return eventView{
		ID: e.ID, Name: e.Name, Description: e.Description,
		Start: e.Start.UTC(), End: e.End.UTC(), TimeZone: e.TimeZone,
		MaxTokenCap: e.MaxTokenCap, DailyRequestCap: e.DailyRequestCap, Models: orEmpty(e.Models),
		OrganizerName: e.OrganizerName, OrganizerEmail: e.OrganizerEmail, URL: e.URL, URLText: e.URLText,
		SelfRegistration: len(e.SharedCodeHash) > 0, Active: e.Active, LogPayloads: e.LogPayloads,
		Attendees: attendees, SignInRegistration: e.SignInRegistration, SignInDomains: orEmpty(e.SignInDomains),
		Owner: e.Owner, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
}

// attendeeCount counts an event's attendee keys, revoked ones included:
// each is an attendee who registered.
func (h *handler) attendeeCount(r *http.Request, eventID string) (int, error) {
	keys, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{EventID: eventID})
	return len(keys), err
}

// listEvents answers GET /admin/v1/events, ordered by start.
func (h *handler) listEvents(w http.ResponseWriter, r *http.Request) error {
	events, err := h.opts.Store.ListEvents(r.Context())
	if err != nil {
		return err
	}
	events = visibleEvents(r.Context(), events)
	// One query for every key beats one per event: attendee keys are
	// what the store holds most of, and they are counted, not sent.
	keys, err := h.opts.Store.ListKeys(r.Context(), store.KeyFilter{})
	if err != nil {
		return err
	}
	counts := map[string]int{}
	for _, k := range keys {
		if k.EventID != "" {
			counts[k.EventID]++
		}
	}
	data := make([]eventView, len(events))
	for i, e := range events {
		data[i] = viewEvent(e, counts[e.ID])
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// getEvent answers GET /admin/v1/events/{id}.
func (h *handler) getEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	e, err := h.opts.Store.GetEvent(r.Context(), id)
	if err != nil {
		return eventError(err, id)
	}
	n, err := h.attendeeCount(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEvent(e, n))
	return nil
}

// createEvent answers POST /admin/v1/events. An event is active unless
// the body says otherwise.
func (h *handler) createEvent(w http.ResponseWriter, r *http.Request) error {
	var b eventBody
	if err := decodeStrict(w, r, &b, "GET /admin/v1/events shows the fields an event has"); err != nil {
		return err
	}
	e := store.Event{ID: newEventID(), Active: true, Owner: eventOwner(r.Context())}
	if err := b.apply(&e, true, nil); err != nil {
		return err
	}
	if err := setOwner(r.Context(), &e, b.Owner); err != nil {
		return err
	}
	e, err := h.opts.Store.CreateEvent(r.Context(), e)
	if err != nil {
		return err // an id conflict is a 2^-80 coincidence: internal
	}
	h.accessChanged(r.Context(), "event created", "event", e.ID, "name", e.Name)
	writeJSON(w, http.StatusCreated, viewEvent(e, 0))
	return nil
}

// patchEvent answers PATCH /admin/v1/events/{id}.
func (h *handler) patchEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var b eventBody
	if err := decodeStrict(w, r, &b, "GET /admin/v1/events shows the fields an event has"); err != nil {
		return err
	}
	e, err := h.opts.Store.GetEvent(r.Context(), id)
	if err != nil {
		return eventError(err, id)
	}
	if err := b.apply(&e, false, nil); err != nil {
		return err
	}
	if err := setOwner(r.Context(), &e, b.Owner); err != nil {
		return err
	}
	if e, err = h.opts.Store.UpdateEvent(r.Context(), e); err != nil {
		return eventError(err, id)
	}
	h.accessChanged(r.Context(), "event updated", "event", e.ID, "name", e.Name)
	n, err := h.attendeeCount(r, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEvent(e, n))
	return nil
}

// deleteEvent answers DELETE /admin/v1/events/{id} with 204; the store
// deletes the event's attendee keys with it.
func (h *handler) deleteEvent(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := h.opts.Store.DeleteEvent(r.Context(), id); err != nil {
		return eventError(err, id)
	}
	h.accessChanged(r.Context(), "event deleted", "event", id)
	writeNoContent(w)
	return nil
}
