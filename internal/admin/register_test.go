package admin_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/auth"
)

func TestRegister(t *testing.T) {
	forEachStore(t, accessSetup{}, func(t *testing.T, e *accessEnv) {
		ev := e.createEvent(nil)
		key := auth.AttendeeKey(e.secret, ev, "bob@example.com", 0)
		want := map[string]any{"event_id": ev, "attendee": "bob@example.com", "api_key": key}

		res := e.register(ev, "let-me-in", "bob@example.com")
		if res.code != http.StatusCreated {
			t.Fatalf("register: status %d, want 201; body %s", res.code, res.body)
		}
		if diff := cmp.Diff(want, res.json(t)); diff != "" {
			t.Errorf("register (-want +got):\n%s", diff)
		}
		e.wantReloads(2)

		// Again: 200 and the same key, also when the seed's "email" names
		// the attendee, and unknown fields are ignored as the seed does.
		for _, body := range []map[string]any{
			{"shared_code": "let-me-in", "attendee": "bob@example.com"},
			{"shared_code": "let-me-in", "email": "BOB@example.com", "name": "Bob"},
		} {
			res := e.send(request{method: "POST", path: "/api/v1/attendee/event/" + ev + "/register", body: body})
			if res.code != http.StatusOK {
				t.Fatalf("register again with %v: status %d, want 200; body %s", body, res.code, res.body)
			}
			if diff := cmp.Diff(want, res.json(t)); diff != "" {
				t.Errorf("register again with %v (-want +got):\n%s", body, diff)
			}
		}
		// The organiser sees the same attendee and key.
		got := e.admin(http.StatusOK, "POST", "/admin/v1/events/"+ev+"/attendees", map[string]any{"attendee": "bob@example.com"}).json(t)
		if got["key"] != key {
			t.Errorf("the organiser's issue gave another key than registration did")
		}
		e.wantReloads(2)
		e.wantNoLeak(key, 4)
	})
}

func TestRegisterNotFoundIsOneAnswer(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	open := e.createEvent(nil)
	inactive := e.createEvent(map[string]any{"active": false})
	noCode := e.createEvent(map[string]any{"shared_code": ""})
	ended := e.createEvent(map[string]any{"start": "2026-11-01T09:00:00", "end": "2026-11-02T17:00:00"})

	var first *response
	for _, tc := range []struct {
		name, event, code string
	}{
		{"unknown event", "ev_aaaaaaaaaaaaaaaa", "let-me-in"},
		{"unknown event, no such path id", "nothing-like-an-id", "let-me-in"},
		{"inactive event, right code", inactive, "let-me-in"},
		{"event without a code", noCode, "let-me-in"},
		{"wrong code", open, "let-me-out"},
		{"code in another case", open, "LET-ME-IN"},
		{"ended event, right code", ended, "let-me-in"},
	} {
		res := e.register(tc.event, tc.code, "bob@example.com")
		if res.code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404; body %s", tc.name, res.code, res.body)
			continue
		}
		if first == nil {
			first = &res
			got := res.err(t)
			if got.Error.Message != "no such event, or wrong code" {
				t.Errorf("message %q, want \"no such event, or wrong code\"", got.Error.Message)
			}
			continue
		}
		if !bytes.Equal(res.body, first.body) {
			t.Errorf("%s: body %s, want byte for byte %s", tc.name, res.body, first.body)
		}
		if diff := cmp.Diff(first.header, res.header); diff != "" {
			t.Errorf("%s: headers differ (-first +got):\n%s", tc.name, diff)
		}
	}
	// Nothing was issued.
	for _, ev := range []string{open, inactive, noCode, ended} {
		if n := len(e.admin(http.StatusOK, "GET", "/admin/v1/events/"+ev+"/attendees", nil).json(t)["data"].([]any)); n != 0 {
			t.Errorf("event %s has %d attendees after failed registrations, want 0", ev, n)
		}
	}
}

func TestRegisterRateLimit(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	ev := e.createEvent(nil)
	try := func(addr, code string, header http.Header) response {
		t.Helper()
		return e.send(request{
			method: "POST", path: "/api/v1/attendee/event/" + ev + "/register",
			body: map[string]string{"shared_code": code, "attendee": "a" + addr}, header: header, remoteAddr: addr,
		})
	}
	const a, b = "198.51.100.7:5555", "198.51.100.8:5555"

	// Successes do not count: a classroom behind one address registers.
	for i := range 30 {
		res := e.send(request{
			method: "POST", path: "/api/v1/attendee/event/" + ev + "/register",
			body: map[string]string{"shared_code": "let-me-in", "attendee": fmt.Sprintf("student%d", i)}, remoteAddr: a,
		})
		if res.code != http.StatusCreated {
			t.Fatalf("registration %d from one address: status %d, want 201", i, res.code)
		}
	}
	for i := range 10 {
		if res := try(a, "guess", nil); res.code != http.StatusNotFound {
			t.Fatalf("failure %d: status %d, want 404", i+1, res.code)
		}
	}
	// The clock stands at 12:00:00: the one-minute window ends in 60 s.
	for _, tc := range []struct {
		name   string
		code   string
		header http.Header
	}{
		{"one failure too many", "guess", nil},
		{"the right code, once limited", "let-me-in", nil},
		{"a forwarded-for header changes nothing", "let-me-in", http.Header{"X-Forwarded-For": {"203.0.113.9"}}},
	} {
		res := try(a, tc.code, tc.header)
		if res.code != http.StatusTooManyRequests || res.header.Get("Retry-After") != "60" {
			t.Errorf("%s: status %d, Retry-After %q; want 429, 60", tc.name, res.code, res.header.Get("Retry-After"))
		}
		if got := res.err(t); got.Error.Type != "rate_limit_error" || !strings.Contains(got.Error.Message, "try again in 60 s") {
			t.Errorf("%s: %+v, want a rate_limit_error saying when to try again", tc.name, got.Error)
		}
	}
	if res := try(b, "let-me-in", nil); res.code != http.StatusCreated {
		t.Errorf("another address: status %d, want 201", res.code)
	}
	e.clock.Add(30 * time.Second)
	if res := try(a, "let-me-in", nil); res.code != http.StatusTooManyRequests || res.header.Get("Retry-After") != "30" {
		t.Errorf("30 s later: status %d, Retry-After %q; want 429, 30", res.code, res.header.Get("Retry-After"))
	}
	e.clock.Add(30 * time.Second)
	if res := try(a, "let-me-in", nil); res.code != http.StatusCreated {
		t.Errorf("in the next window: status %d, want 201", res.code)
	}

	// IPv6 addresses count per /64.
	for range 10 {
		try("[2001:db8::1]:443", "guess", nil)
	}
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"[2001:db8::2]:443", http.StatusTooManyRequests},
		{"[2001:db8:0:0:ffff::9]:443", http.StatusTooManyRequests},
		{"[2001:db8:0:1::1]:443", http.StatusNotFound},
	} {
		if res := try(tc.addr, "guess", nil); res.code != tc.want {
			t.Errorf("wrong code from %s: status %d, want %d", tc.addr, res.code, tc.want)
		}
	}
}

func TestRegisterRevoked(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	ev := e.createEvent(nil)
	if res := e.register(ev, "let-me-in", "bob@example.com"); res.code != http.StatusCreated {
		t.Fatalf("register: status %d, want 201", res.code)
	}
	keys := e.admin(http.StatusOK, "GET", "/admin/v1/keys?event="+ev, nil).json(t)["data"].([]any)
	if len(keys) != 1 {
		t.Fatalf("attendee keys: %d, want 1", len(keys))
	}
	e.admin(http.StatusOK, "POST", "/admin/v1/keys/"+keys[0].(map[string]any)["id"].(string)+"/revoke", nil)

	res := e.register(ev, "let-me-in", "bob@example.com")
	if res.code != http.StatusForbidden {
		t.Fatalf("register with a revoked key: status %d, want 403; body %s", res.code, res.body)
	}
	got := res.err(t)
	if got.Error.Code != "api_key_revoked" || !strings.Contains(got.Error.Message, "revoked") || !strings.Contains(got.Error.Message, "Ann, ann@example.com") {
		t.Errorf("403: %+v, want api_key_revoked saying to ask Ann, ann@example.com", got.Error)
	}
	// The code is checked first: without it, nothing is told.
	if res := e.register(ev, "wrong-code", "bob@example.com"); res.code != http.StatusNotFound {
		t.Errorf("revoked attendee, wrong code: status %d, want 404", res.code)
	}
	// Others still register.
	if res := e.register(ev, "let-me-in", "carol@example.com"); res.code != http.StatusCreated {
		t.Errorf("another attendee: status %d, want 201", res.code)
	}
}

func TestRegisterBadBody(t *testing.T) {
	e := newAccessEnv(t, accessSetup{})
	ev := e.createEvent(nil)
	for _, tc := range []struct {
		name      string
		body      any
		wantParam string
	}{
		{"no code", map[string]any{"attendee": "bob"}, "shared_code"},
		{"no attendee", map[string]any{"shared_code": "let-me-in"}, "attendee"},
		{"blank attendee", map[string]any{"shared_code": "let-me-in", "attendee": " "}, "attendee"},
		{"not JSON", "shared_code=let-me-in", ""},
	} {
		res := e.send(request{method: "POST", path: "/api/v1/attendee/event/" + ev + "/register", body: tc.body})
		if res.code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tc.name, res.code)
			continue
		}
		if got := res.err(t); param(got) != tc.wantParam || got.Detail == "" {
			t.Errorf("%s: param %q, detail %q; want %q and the seed's detail", tc.name, param(got), got.Detail, tc.wantParam)
		}
	}
	// Only POST.
	if res := e.send(request{method: "GET", path: "/api/v1/attendee/event/" + ev + "/register"}); res.code != http.StatusMethodNotAllowed {
		t.Errorf("GET register: status %d, want 405", res.code)
	}
}

func TestRegisterWithoutSecret(t *testing.T) {
	e := newAccessEnv(t, accessSetup{noSecret: true})
	ev := e.createEvent(nil)
	// The same 503 whether the event exists or not: it tells nothing.
	var first []byte
	for _, tc := range []struct{ event, code string }{{ev, "let-me-in"}, {"ev_nope", "wrong-code"}} {
		res := e.register(tc.event, tc.code, "bob")
		if res.code != http.StatusServiceUnavailable {
			t.Fatalf("register for %s without a secret: status %d, want 503; body %s", tc.event, res.code, res.body)
		}
		if got := res.err(t); !strings.Contains(got.Error.Message, "SPILLWAY_SECRET_KEY") {
			t.Errorf("message %q, want it to name SPILLWAY_SECRET_KEY", got.Error.Message)
		}
		if first == nil {
			first = res.body
		} else if !bytes.Equal(first, res.body) {
			t.Errorf("answers differ: %s and %s", first, res.body)
		}
	}
	e.wantReloads(1) // the event
}
