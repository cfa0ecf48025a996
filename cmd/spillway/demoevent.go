package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// demoEventName names the demo's event; a demo run on a kept --data
// directory finds it again instead of making another.
const demoEventName = "Spillway demo day"

// demoEventCode is the demo event's shared self-registration code.
const demoEventCode = "demo-day"

const demoEventDescription = `Welcome to **Spillway**'s demo event.

- Chat, images and embeddings run against two *simulated* Azure OpenAI resources.
- Answers are capped at 512 tokens and 500 requests a day per attendee.
- The admin portal at [/admin/](/admin/) shows the traffic as it happens.`

// demoEvent is what the demo prints about its event.
type demoEvent struct {
	ID          string
	AttendeeKey string
}

// lines are the demo banner's lines about the event; none without one.
func (e demoEvent) lines() string {
	if e.ID == "" {
		return ""
	}
	return fmt.Sprintf("  Event:      %q, code %s, shared code %q (attendees register in the playground)\n"+
		"  Attendee key: %s   (signs in as an attendee of the event)\n", demoEventName, e.ID, demoEventCode, e.AttendeeKey)
}

// setUpDemoEvent makes sure the demo's event exists and runs from an hour
// ago for a week, and registers one attendee, through the management API
// as an organiser would.
func setUpDemoEvent(ctx context.Context, base, adminToken string) (demoEvent, error) {
	call := func(method, path string, body, out any) error {
		var r io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return err
			}
			r = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, r)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return json.Unmarshal(b, out)
	}

	now := time.Now().UTC()
	window := map[string]any{
		"start":  now.Add(-time.Hour).Format("2006-01-02T15:04:05Z"),
		"end":    now.Add(7 * 24 * time.Hour).Format("2006-01-02T15:04:05Z"),
		"active": true,
	}
	var list struct {
		Data []struct{ ID, Name string } `json:"data"`
	}
	if err := call(http.MethodGet, "/admin/v1/events", nil, &list); err != nil {
		return demoEvent{}, err
	}
	var ev struct{ ID string }
	for _, e := range list.Data {
		if e.Name == demoEventName {
			ev.ID = e.ID
		}
	}
	if ev.ID != "" {
		if err := call(http.MethodPatch, "/admin/v1/events/"+ev.ID, window, &ev); err != nil {
			return demoEvent{}, err
		}
	} else {
		body := map[string]any{
			"name": demoEventName, "description": demoEventDescription, "time_zone": "UTC",
			"max_token_cap": 512, "daily_request_cap": 500, "organizer_name": "Spillway",
			"shared_code": demoEventCode,
		}
		for k, v := range window {
			body[k] = v
		}
		if err := call(http.MethodPost, "/admin/v1/events", body, &ev); err != nil {
			return demoEvent{}, err
		}
	}
	var attendee struct{ Key string }
	if err := call(http.MethodPost, "/admin/v1/events/"+ev.ID+"/attendees", map[string]string{"attendee": "attendee@example.com"}, &attendee); err != nil {
		return demoEvent{}, err
	}
	return demoEvent{ID: ev.ID, AttendeeKey: attendee.Key}, nil
}
