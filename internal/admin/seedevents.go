package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// The seed's event management: POST /api/v1/management/events/add and GET
// /api/v1/management/events/list/{all|active}. The seed keyed an event by
// its event_code, which attendees typed in; here that is the event's id.
// Times are UTC, as the field names say; a time without an offset is
// taken as UTC.

// seedEventFields names an event's fields as the seed's body does.
var seedEventFields = fieldNames{
	"name":        "event_name",
	"start":       "start_utc",
	"end":         "end_utc",
	"url":         "event_url",
	"url_text":    "event_url_text",
	"description": "event_markdown",
	"time_zone":   "time_zone_label",
}

// seedEventBody is the seed's NewEventRequest, with the optional fields
// of its later releases.
type seedEventBody struct {
	EventName       *string `json:"event_name"`
	StartUTC        *string `json:"start_utc"`
	EndUTC          *string `json:"end_utc"`
	MaxTokenCap     *int    `json:"max_token_cap"`
	EventURL        *string `json:"event_url"`
	EventURLText    *string `json:"event_url_text"`
	OrganizerName   *string `json:"organizer_name"`
	OrganizerEmail  *string `json:"organizer_email"`
	Active          *bool   `json:"active"`
	DailyRequestCap *int    `json:"daily_request_cap"`
	EventMarkdown   *string `json:"event_markdown"`
	// TimeZoneLabel is the IANA zone the event is shown in; the times
	// stay UTC.
	TimeZoneLabel *string `json:"time_zone_label"`
}

// seedEventRecord is one element of /events/list/{all|active}.
type seedEventRecord struct {
	EventCode       string `json:"event_code"`
	EventName       string `json:"event_name"`
	StartUTC        string `json:"start_utc"`
	EndUTC          string `json:"end_utc"`
	MaxTokenCap     int    `json:"max_token_cap"`
	DailyRequestCap int    `json:"daily_request_cap"`
	EventURL        string `json:"event_url"`
	EventURLText    string `json:"event_url_text"`
	OrganizerName   string `json:"organizer_name"`
	OrganizerEmail  string `json:"organizer_email"`
	EventMarkdown   string `json:"event_markdown"`
	TimeZoneLabel   string `json:"time_zone_label"`
	Active          bool   `json:"active"`
}

// seedAddEvent answers POST /api/v1/management/events/add with the seed's
// NewEventResponse. Self-registration stays off: the seed had no shared
// code; PATCH /admin/v1/events/{id} sets one.
func (h *handler) seedAddEvent(w http.ResponseWriter, r *http.Request) error {
	var b seedEventBody
	if err := decode(w, r, &b, false); err != nil {
		return err
	}
	if err := requireFields("invalid_event", "active, daily_request_cap, event_markdown, time_zone_label", []required{
		{"event_name", b.EventName != nil}, {"start_utc", b.StartUTC != nil}, {"end_utc", b.EndUTC != nil},
		{"max_token_cap", b.MaxTokenCap != nil}, {"event_url", b.EventURL != nil},
		{"event_url_text", b.EventURLText != nil}, {"organizer_name", b.OrganizerName != nil},
		{"organizer_email", b.OrganizerEmail != nil},
	}); err != nil {
		return err
	}
	// The times are read in UTC; the label only says how to show them.
	utc := "UTC"
	nb := eventBody{
		Name: b.EventName, Description: b.EventMarkdown, Start: b.StartUTC, End: b.EndUTC, TimeZone: &utc,
		MaxTokenCap: b.MaxTokenCap, DailyRequestCap: b.DailyRequestCap,
		OrganizerName: b.OrganizerName, OrganizerEmail: b.OrganizerEmail, URL: b.EventURL, URLText: b.EventURLText,
		Active: b.Active,
	}
	e := store.Event{ID: newEventID(), Active: true, Owner: eventOwner(r.Context())}
	v := invalid{code: "invalid_event", names: seedEventFields}
	if err := nb.apply(&e, true, seedEventFields); err != nil {
		return err
	}
	if b.TimeZoneLabel != nil {
		if label := strings.TrimSpace(*b.TimeZoneLabel); label != "" {
			if _, msg := loadZone(label); msg != "" {
				v.add("time_zone", "%s", msg)
			}
			e.TimeZone = label
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	e, err := h.opts.Store.CreateEvent(r.Context(), e)
	if err != nil {
		return err
	}
	h.accessChanged(r.Context(), "event created", "event", e.ID, "name", e.Name, "api", "seed")
	writeJSON(w, http.StatusOK, map[string]any{
		"event_code": e.ID, "event_name": e.Name,
		"organizer_name": e.OrganizerName, "organizer_email": e.OrganizerEmail,
		"start_utc": e.Start.UTC().Format(time.RFC3339), "end_utc": e.End.UTC().Format(time.RFC3339),
		"event_url": e.URL,
	})
	return nil
}

// seedListEvents answers GET /api/v1/management/events/list/{query}: all,
// or active (switched on and running now, as the seed's docs say); else
// 400 "Invalid query path." as the seed says.
func (h *handler) seedListEvents(w http.ResponseWriter, r *http.Request) error {
	query := strings.ToLower(r.PathValue("query"))
	if query != "all" && query != "active" {
		return errBadRequest("query", "invalid_query_path", "Invalid query path.")
	}
	events, err := h.opts.Store.ListEvents(r.Context())
	if err != nil {
		return err
	}
	now := h.opts.Now()
	out := make([]seedEventRecord, 0, len(events))
	for _, e := range visibleEvents(r.Context(), events) {
		if query == "active" && (!e.Active || now.Before(e.Start) || !now.Before(e.End)) {
			continue
		}
		out = append(out, seedEventRecord{
			EventCode: e.ID, EventName: e.Name,
			StartUTC: e.Start.UTC().Format(time.RFC3339), EndUTC: e.End.UTC().Format(time.RFC3339),
			MaxTokenCap: e.MaxTokenCap, DailyRequestCap: e.DailyRequestCap,
			EventURL: e.URL, EventURLText: e.URLText, OrganizerName: e.OrganizerName, OrganizerEmail: e.OrganizerEmail,
			EventMarkdown: e.Description, TimeZoneLabel: e.TimeZone, Active: e.Active,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
