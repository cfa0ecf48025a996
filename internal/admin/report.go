package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// GET /admin/v1/events/{id}/report: how an event went, for its organiser.
// Days are the event's own, in its time zone: a Sydney hackathon's day
// runs from Sydney midnight to Sydney midnight, not from 10 or 11 am.

// maxReportDays bounds a report: each day is one usage query (active
// attendees are distinct keys, which only a query per day can count), so
// the range is what bounds the work. A quarter covers any event.
const maxReportDays = 92

// reportCounts are the sums a report shows for a day, a model or the
// whole range.
type reportCounts struct {
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	Cost             float64 `json:"cost"`
}

func (c *reportCounts) add(r store.UsageRow) {
	c.Requests += r.Requests
	c.Errors += r.Errors
	c.PromptTokens += r.PromptTokens
	c.CompletionTokens += r.CompletionTokens
	c.TotalTokens += r.TotalTokens
	c.Cost += r.Cost
}

type reportDay struct {
	// Day is the date in the event's time zone, 2026-12-01.
	Day string `json:"day"`
	// ActiveAttendees counts the attendee keys with a request that day.
	ActiveAttendees int `json:"active_attendees"`
	reportCounts
}

type reportModel struct {
	Model string `json:"model"`
	reportCounts
}

type reportTotals struct {
	// ActiveAttendees counts the attendee keys with a request in the
	// range.
	ActiveAttendees int `json:"active_attendees"`
	reportCounts
}

// eventReport is the answer to GET /admin/v1/events/{id}/report.
type eventReport struct {
	EventID  string `json:"event_id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	// From and To bound the report, To exclusive.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Attendees counts the attendees registered now, revoked keys
	// included.
	Attendees int           `json:"attendees"`
	Totals    reportTotals  `json:"totals"`
	Days      []reportDay   `json:"days"`
	Models    []reportModel `json:"models"`
}

// eventReport answers GET /admin/v1/events/{id}/report?from=&to=. The
// range defaults to the event's start and end; from and to are read like
// an event's start and end (the event's wall clock unless they carry an
// offset), and a date alone in to means the end of that day.
func (h *handler) eventReport(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ctx := r.Context()
	ev, err := h.opts.Store.GetEvent(ctx, id)
	if err != nil {
		return eventError(err, id)
	}
	loc := eventZone(ev)
	from, to, err := reportRange(r, ev, loc)
	if err != nil {
		return err
	}

	attendees, err := h.attendeeCount(r, ev.ID)
	if err != nil {
		return err
	}
	rep := eventReport{
		EventID: ev.ID, Name: ev.Name, TimeZone: loc.String(), From: from, To: to,
		Attendees: attendees, Days: []reportDay{}, Models: []reportModel{},
	}

	byKey, err := h.opts.Store.QueryUsage(ctx, store.UsageQuery{From: from, To: to, GroupBy: store.GroupByKey, EventID: ev.ID})
	if err != nil {
		return err
	}
	rep.Totals.ActiveAttendees = len(byKey)
	for _, row := range byKey {
		rep.Totals.add(row)
	}

	for start := from; start.Before(to); {
		y, m, d := start.In(loc).Date()
		end := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		if !end.After(start) {
			// A midnight the clocks skip, which time.Date may place
			// anywhere near: the day still ends a day later.
			end = start.Add(24 * time.Hour)
		}
		if end.After(to) {
			end = to
		}
		rows, err := h.opts.Store.QueryUsage(ctx, store.UsageQuery{From: start, To: end, GroupBy: store.GroupByKey, EventID: ev.ID})
		if err != nil {
			return err
		}
		day := reportDay{Day: time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), ActiveAttendees: len(rows)}
		for _, row := range rows {
			day.add(row)
		}
		rep.Days = append(rep.Days, day)
		start = end
	}

	byModel, err := h.opts.Store.QueryUsage(ctx, store.UsageQuery{From: from, To: to, GroupBy: store.GroupByModel, EventID: ev.ID})
	if err != nil {
		return err
	}
	for _, row := range byModel {
		m := reportModel{Model: row.Group}
		m.add(row)
		rep.Models = append(rep.Models, m)
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// reportRange reads ?from= and ?to=, each a 400 naming it when wrong.
func reportRange(r *http.Request, ev store.Event, loc *time.Location) (from, to time.Time, err error) {
	q := r.URL.Query()
	from, to = ev.Start.UTC(), ev.End.UTC()
	if err := onlyOnce(q, "from", "to"); err != nil {
		return from, to, err
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		s := strings.TrimSpace(q.Get(f.name))
		if s == "" {
			continue
		}
		t, msg := parseEventTime(s, loc)
		if msg != "" {
			return from, to, errBadRequest(f.name, "invalid_parameter", "%s: %s", f.name, msg)
		}
		if _, dateErr := time.Parse(time.DateOnly, s); dateErr == nil && f.name == "to" {
			y, m, d := t.In(loc).Date()
			t = time.Date(y, m, d+1, 0, 0, 0, 0, loc).UTC()
		}
		*f.dst = t
	}
	if !from.Before(to) {
		return from, to, errBadRequest("from", "invalid_parameter", "from (%s) must be before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	first := civilDay(from.In(loc))
	last := civilDay(to.Add(-time.Nanosecond).In(loc))
	if days := int(last.Sub(first).Hours()/24) + 1; days > maxReportDays {
		return from, to, errBadRequest("from", "invalid_parameter", "the range covers %d days; a report covers at most %d: narrow from and to", days, maxReportDays)
	}
	return from, to, nil
}

// civilDay is t's date as midnight UTC, for counting calendar days
// without the 23- and 25-hour days of a DST change in the way.
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
