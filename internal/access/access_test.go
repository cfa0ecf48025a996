package access_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST cases must not depend on the machine's zoneinfo

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// newChecker returns a Checker reading clock, over a memory limiter on the
// same clock unless o names one.
func newChecker(clock *limitstest.Clock, o access.Options) *access.Checker {
	if o.Limiter == nil {
		o.Limiter = limits.NewMemory(clock.Now)
	}
	o.Now = clock.Now
	o.Logger = slog.New(slog.DiscardHandler)
	return access.New(o)
}

// chat is a chat request for gpt-4o asking for maxTokens (-1: absent).
func chat(maxTokens int64) access.Request {
	return access.Request{Model: "gpt-4o", MaxTokens: maxTokens, HasMaxTokens: true}
}

// openEvent is an active event running all through 2026, in UTC.
func openEvent(id string) *auth.Event {
	return &auth.Event{
		ID: id, Name: "Hack Day", Active: true, TimeZone: "UTC",
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End:   time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// asAPIError returns err as an *apierror.Error, failing the test if it is
// not one.
func asAPIError(t *testing.T, err error) *apierror.Error {
	t.Helper()
	var e *apierror.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want an *apierror.Error", err, err)
	}
	return e
}

// admitN admits n requests, failing the test on the first refusal.
func admitN(t *testing.T, c *access.Checker, p *auth.Principal, r access.Request, n int) {
	t.Helper()
	for i := range n {
		if _, err := c.Admit(context.Background(), p, r); err != nil {
			t.Fatalf("request %d of %d: %v, want admitted", i+1, n, err)
		}
	}
}

// refused admits one request and returns its refusal, failing the test
// when it is admitted.
func refused(t *testing.T, c *access.Checker, p *auth.Principal, r access.Request) *apierror.Error {
	t.Helper()
	if _, err := c.Admit(context.Background(), p, r); err != nil {
		return asAPIError(t, err)
	}
	t.Fatal("request admitted, want refused")
	return nil
}

func TestAdmitNilPrincipal(t *testing.T) {
	clock := limitstest.NewClock(limitstest.Start)
	c := newChecker(clock, access.Options{})
	g, err := c.Admit(context.Background(), nil, chat(1_000_000))
	if err != nil {
		t.Fatalf("Admit(nil principal) = %v, want admitted", err)
	}
	if g.MaxTokens != 0 || g.Estimate != 0 {
		t.Errorf("grant = {MaxTokens: %d, Estimate: %d}, want zero", g.MaxTokens, g.Estimate)
	}
	c.Settle(context.Background(), g, 100, 1) // nothing to settle; must not panic
	c.Settle(context.Background(), access.Grant{}, 100, 1)
}

func notActive(msg string) *apierror.Error {
	return &apierror.Error{Status: http.StatusForbidden, Type: apierror.TypePermission, Code: "event_not_active", Message: msg}
}

func TestAdmitEventWindow(t *testing.T) {
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	end := time.Date(2026, 6, 3, 17, 0, 0, 0, time.UTC)
	const (
		starts = "event not active (starts at 2026-06-01T09:00:00Z)"
		ended  = "event not active (ended at 2026-06-03T17:00:00Z)"
	)
	tests := []struct {
		name     string
		now      time.Time
		inactive bool
		wantMsg  string // "" for admitted
	}{
		{"a day before start", start.Add(-24 * time.Hour), false, starts},
		{"just before start", start.Add(-time.Nanosecond), false, starts},
		{"at start", start, false, ""},
		{"during", start.Add(30 * time.Hour), false, ""},
		{"just before end", end.Add(-time.Nanosecond), false, ""},
		{"at end", end, false, ended},
		{"a week after end", end.Add(7 * 24 * time.Hour), false, ended},
		{"inactive during", start.Add(time.Hour), true, `event "Hack Day" is not active: its organiser switched it off`},
		{"inactive before start", start.Add(-time.Hour), true, `event "Hack Day" is not active: its organiser switched it off`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := limitstest.NewClock(tt.now)
			c := newChecker(clock, access.Options{})
			ev := &auth.Event{ID: "hack", Name: "Hack Day", Start: start, End: end, TimeZone: "UTC", Active: !tt.inactive}
			p := &auth.Principal{KeyID: "k1", Event: ev, Attendee: "alice"}
			_, err := c.Admit(context.Background(), p, chat(-1))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Admit = %v, want admitted", err)
				}
				return
			}
			if diff := cmp.Diff(notActive(tt.wantMsg), asAPIError(t, err)); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdmitEventMessageZone: the message shows the organiser's zone next
// to UTC, and only UTC when there is no usable zone.
func TestAdmitEventMessageZone(t *testing.T) {
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		tz   string
		want string
	}{
		{"", "event not active (starts at 2026-06-01T09:00:00Z)"},
		{"UTC", "event not active (starts at 2026-06-01T09:00:00Z)"},
		{"Not/AZone", "event not active (starts at 2026-06-01T09:00:00Z)"},
		{"Europe/Paris", "event not active (starts at 2026-06-01 11:00 CEST Europe/Paris, 2026-06-01T09:00:00Z)"},
		{"Asia/Tokyo", "event not active (starts at 2026-06-01 18:00 JST Asia/Tokyo, 2026-06-01T09:00:00Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.tz, func(t *testing.T) {
			clock := limitstest.NewClock(start.Add(-time.Minute))
			c := newChecker(clock, access.Options{})
			ev := &auth.Event{ID: "e", Start: start, End: start.Add(time.Hour), TimeZone: tt.tz, Active: true}
			e := refused(t, c, &auth.Principal{KeyID: "k", Event: ev}, chat(-1))
			if got := e.Message; got != tt.want {
				t.Errorf("message = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAdmitEventWindowAcrossDST: an event typed in local wall-clock time
// over a DST change is admitted exactly within its UTC bounds, and the
// refusals name the local time with the abbreviation in force then.
func TestAdmitEventWindowAcrossDST(t *testing.T) {
	tests := []struct {
		tz string
		// startWall and endWall are the organiser's wall-clock times; only
		// their fields matter, read in tz.
		startWall, endWall         time.Time
		wantStartUTC, wantEndUTC   time.Time
		wantLength                 time.Duration // wall-clock length ± the DST hour
		dstChange                  time.Time     // inside the event
		wantStartsMsg, wantEndsMsg string
	}{
		{
			// DST starts on Sunday 4 October 2026: 02:00 AEST becomes 03:00 AEDT.
			tz:            "Australia/Sydney",
			startWall:     time.Date(2026, 10, 3, 9, 0, 0, 0, time.UTC),
			endWall:       time.Date(2026, 10, 5, 17, 0, 0, 0, time.UTC),
			wantStartUTC:  time.Date(2026, 10, 2, 23, 0, 0, 0, time.UTC), // +10:00
			wantEndUTC:    time.Date(2026, 10, 5, 6, 0, 0, 0, time.UTC),  // +11:00
			wantLength:    56*time.Hour - time.Hour,
			dstChange:     time.Date(2026, 10, 3, 16, 0, 0, 0, time.UTC),
			wantStartsMsg: "event not active (starts at 2026-10-03 09:00 AEST Australia/Sydney, 2026-10-02T23:00:00Z)",
			wantEndsMsg:   "event not active (ended at 2026-10-05 17:00 AEDT Australia/Sydney, 2026-10-05T06:00:00Z)",
		},
		{
			// DST ends on Sunday 1 November 2026: 02:00 EDT becomes 01:00 EST.
			tz:            "America/New_York",
			startWall:     time.Date(2026, 10, 31, 9, 0, 0, 0, time.UTC),
			endWall:       time.Date(2026, 11, 2, 17, 0, 0, 0, time.UTC),
			wantStartUTC:  time.Date(2026, 10, 31, 13, 0, 0, 0, time.UTC), // -04:00
			wantEndUTC:    time.Date(2026, 11, 2, 22, 0, 0, 0, time.UTC),  // -05:00
			wantLength:    56*time.Hour + time.Hour,
			dstChange:     time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
			wantStartsMsg: "event not active (starts at 2026-10-31 09:00 EDT America/New_York, 2026-10-31T13:00:00Z)",
			wantEndsMsg:   "event not active (ended at 2026-11-02 17:00 EST America/New_York, 2026-11-02T22:00:00Z)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.tz, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.tz)
			if err != nil {
				t.Fatal(err)
			}
			inZone := func(w time.Time) time.Time {
				return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
			}
			start, end := inZone(tt.startWall).UTC(), inZone(tt.endWall).UTC()
			// The fixture itself: the offsets differ across the change.
			if !start.Equal(tt.wantStartUTC) || !end.Equal(tt.wantEndUTC) {
				t.Fatalf("event in UTC = %v to %v, want %v to %v", start, end, tt.wantStartUTC, tt.wantEndUTC)
			}
			if got := end.Sub(start); got != tt.wantLength {
				t.Fatalf("event length = %v, want %v", got, tt.wantLength)
			}
			ev := &auth.Event{ID: "ev", Name: "Summit", Start: start, End: end, TimeZone: tt.tz, Active: true}
			p := &auth.Principal{KeyID: "k", Event: ev, Attendee: "bob"}

			cases := []struct {
				name    string
				now     time.Time
				wantMsg string
			}{
				{"a second before start", start.Add(-time.Second), tt.wantStartsMsg},
				{"at start", start, ""},
				{"at the DST change", tt.dstChange, ""},
				{"a second before end", end.Add(-time.Second), ""},
				{"at end", end, tt.wantEndsMsg},
				{"a second after end", end.Add(time.Second), tt.wantEndsMsg},
			}
			for _, cs := range cases {
				t.Run(cs.name, func(t *testing.T) {
					c := newChecker(limitstest.NewClock(cs.now), access.Options{})
					_, err := c.Admit(context.Background(), p, chat(-1))
					if cs.wantMsg == "" {
						if err != nil {
							t.Fatalf("Admit at %v = %v, want admitted", cs.now, err)
						}
						return
					}
					if diff := cmp.Diff(notActive(cs.wantMsg), asAPIError(t, err)); diff != "" {
						t.Errorf("refusal at %v (-want +got):\n%s", cs.now, diff)
					}
				})
			}
		})
	}
}

func dailyCapReached(limit string, retry time.Duration, in string) *apierror.Error {
	return &apierror.Error{
		Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "daily_request_cap_reached", RetryAfter: retry,
		Message: "daily request cap of " + limit + " reached; resets at UTC midnight (in " + in + ")",
	}
}

// TestAdmitDailyCapResetsAtUTCMidnight uses an event in Los Angeles (UTC-7
// in June): the cap resets at 00:00 UTC, 17:00 local, and not at local
// midnight.
func TestAdmitDailyCapResetsAtUTCMidnight(t *testing.T) {
	// 13:00 PDT on 10 June: 4h before UTC midnight, 11h before local midnight.
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 20, 0, 0, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	ev := openEvent("la")
	ev.TimeZone = "America/Los_Angeles"
	ev.DailyRequestCap = 3
	p := &auth.Principal{KeyID: "att-1", Event: ev, Attendee: "alice"}

	admitN(t, c, p, chat(-1), 3)
	if diff := cmp.Diff(dailyCapReached("3", 4*time.Hour, "4h0m0s"), refused(t, c, p, chat(-1))); diff != "" {
		t.Errorf("4th request at 20:00 UTC (-want +got):\n%s", diff)
	}

	clock.Advance(4*time.Hour - time.Second) // 23:59:59 UTC
	if diff := cmp.Diff(dailyCapReached("3", time.Second, "1s"), refused(t, c, p, chat(-1))); diff != "" {
		t.Errorf("at 23:59:59 UTC (-want +got):\n%s", diff)
	}

	clock.Advance(time.Second) // 00:00 UTC on 11 June, still 10 June in Los Angeles
	admitN(t, c, p, chat(-1), 3)
	if diff := cmp.Diff(dailyCapReached("3", 24*time.Hour, "24h0m0s"), refused(t, c, p, chat(-1))); diff != "" {
		t.Errorf("4th request after UTC midnight (-want +got):\n%s", diff)
	}

	clock.Advance(7 * time.Hour) // local midnight: no reset
	if diff := cmp.Diff(dailyCapReached("3", 17*time.Hour, "17h0m0s"), refused(t, c, p, chat(-1))); diff != "" {
		t.Errorf("at local midnight (-want +got):\n%s", diff)
	}
}

func TestAdmitDailyCapPerAttendee(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	ev := openEvent("hack")
	ev.DailyRequestCap = 2
	alice := &auth.Principal{KeyID: "att-alice", Event: ev, Attendee: "alice"}
	bob := &auth.Principal{KeyID: "att-bob", Event: ev, Attendee: "bob"}
	other := openEvent("other")
	other.DailyRequestCap = 2
	carol := &auth.Principal{KeyID: "att-carol", Event: other, Attendee: "carol"}

	admitN(t, c, alice, chat(-1), 2)
	if e := refused(t, c, alice, chat(-1)); e.Code != "daily_request_cap_reached" {
		t.Errorf("alice's 3rd: code %q, want daily_request_cap_reached", e.Code)
	}
	// Alice's use is hers alone.
	admitN(t, c, bob, chat(-1), 2)
	admitN(t, c, carol, chat(-1), 2)
	if e := refused(t, c, bob, chat(-1)); e.Code != "daily_request_cap_reached" {
		t.Errorf("bob's 3rd: code %q, want daily_request_cap_reached", e.Code)
	}
	// A key of no event has no daily cap.
	admitN(t, c, &auth.Principal{KeyID: "team"}, chat(-1), 10)
}

// TestAdmitGivesBackWhenRefusedLater checks routing rule 10: only admitted
// requests count. A request that took from the rpm and tpm limits and was
// then refused by a later check must give them back. The proof is the same
// key, seen without its event, still fitting exactly what is left.
func TestAdmitGivesBackWhenRefusedLater(t *testing.T) {
	prompt := access.PromptFunc(func() int64 { return 100 })
	r := access.Request{Model: "gpt-4o", MaxTokens: 100, HasMaxTokens: true, PromptTokens: prompt} // 200 tokens

	t.Run("daily cap refuses", func(t *testing.T) {
		clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 10, 0, time.UTC))
		c := newChecker(clock, access.Options{})
		ev := openEvent("hack")
		ev.DailyRequestCap = 1
		p := &auth.Principal{KeyID: "k", RPM: 5, TPM: 1000, Event: ev, Attendee: "alice"}

		admitN(t, c, p, r, 1)
		for range 3 {
			if e := refused(t, c, p, r); e.Code != "daily_request_cap_reached" {
				t.Fatalf("code %q, want daily_request_cap_reached", e.Code)
			}
		}
		// 1 of 5 requests and 200 of 1000 tokens used: exactly 4 more fit.
		same := &auth.Principal{KeyID: "k", RPM: 5, TPM: 1000}
		admitN(t, c, same, r, 4)
		if e := refused(t, c, same, r); e.Code != "rate_limit_exceeded" {
			t.Errorf("6th request of the minute: code %q, want rate_limit_exceeded", e.Code)
		}
	})

	t.Run("tpm refuses", func(t *testing.T) {
		clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 10, 0, time.UTC))
		c := newChecker(clock, access.Options{})
		p := &auth.Principal{KeyID: "k", RPM: 3, TPM: 300}

		admitN(t, c, p, r, 1)
		e := refused(t, c, p, r)
		if e.Code != "rate_limit_exceeded" || !strings.Contains(e.Message, "300 tokens per minute") {
			t.Fatalf("2nd request: %q %q, want the tpm limit's rate_limit_exceeded", e.Code, e.Message)
		}
		// The tpm refusal gave back its request: 2 of 3 still fit.
		small := chat(1)
		admitN(t, c, p, small, 2)
		if e := refused(t, c, p, small); !strings.Contains(e.Message, "3 requests per minute") {
			t.Errorf("4th request: %q, want the rpm limit's refusal", e.Message)
		}
	})

	t.Run("limiter fails", func(t *testing.T) {
		clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 10, 0, time.UTC))
		lim := &failDaily{Limiter: limits.NewMemory(clock.Now)}
		c := newChecker(clock, access.Options{Limiter: lim})
		ev := openEvent("hack")
		ev.DailyRequestCap = 10
		p := &auth.Principal{KeyID: "k", RPM: 2, Event: ev}

		for range 3 {
			if _, err := c.Admit(context.Background(), p, r); !errors.Is(err, errDown) {
				t.Fatalf("Admit with the daily count failing = %v, want %v", err, errDown)
			}
		}
		admitN(t, c, &auth.Principal{KeyID: "k", RPM: 2}, r, 2)
	})
}

var errDown = errors.New("limiter down")

// failDaily is a limiter whose daily (24h) counts fail, as a Fallback does
// when the caller's context ends.
type failDaily struct{ limits.Limiter }

func (f *failDaily) Take(ctx context.Context, key string, limit int64, window time.Duration, cost int64) (limits.Decision, error) {
	if window == 24*time.Hour {
		return limits.Decision{}, errDown
	}
	return f.Limiter.Take(ctx, key, limit, window, cost)
}

func TestAdmitMaxTokens(t *testing.T) {
	tests := []struct {
		name      string
		keyCap    int
		eventCap  int // 0: no event
		policy    string
		asked     int64 // -1: absent
		hasMax    bool
		wantGrant int64
		wantCap   int64 // 0: admitted; else refused naming this cap
	}{
		{"no cap, absent", 0, 0, "", -1, true, 0, 0},
		{"no cap, huge", 0, 0, "", 1 << 40, true, 0, 0},
		{"key cap, absent", 100, 0, "", -1, true, 100, 0},
		{"key cap, below", 100, 0, "", 99, true, 0, 0},
		{"key cap, at", 100, 0, "", 100, true, 0, 0},
		{"key cap, zero asked", 100, 0, "", 0, true, 0, 0},
		{"key cap, above, reject by default", 100, 0, "", 101, true, 0, 100},
		{"key cap, above, reject", 100, 0, access.PolicyReject, 101, true, 0, 100},
		{"key cap, above, clamp", 100, 0, access.PolicyClamp, 5000, true, 100, 0},
		{"event cap lower wins", 100, 40, access.PolicyReject, 41, true, 0, 40},
		{"event cap lower, absent", 100, 40, "", -1, true, 40, 0},
		{"key cap lower wins", 30, 40, access.PolicyReject, 31, true, 0, 30},
		{"key cap lower, clamp", 30, 40, access.PolicyClamp, 35, true, 30, 0},
		{"event cap only", 0, 40, access.PolicyReject, 41, true, 0, 40},
		{"event cap only, at", 0, 40, access.PolicyReject, 40, true, 0, 0},
		{"embeddings: no cap applied", 100, 40, access.PolicyReject, -1, false, 0, 0},
		{"embeddings: asked ignored", 100, 40, access.PolicyReject, 5000, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{MaxTokensPolicy: tt.policy})
			p := &auth.Principal{KeyID: "k", MaxTokens: tt.keyCap}
			if tt.eventCap > 0 {
				p.Event = openEvent("e")
				p.Event.Start, p.Event.End = limitstest.Start.Add(-time.Hour), limitstest.Start.Add(time.Hour)
				p.Event.MaxTokenCap = tt.eventCap
			}
			r := chat(tt.asked)
			r.HasMaxTokens = tt.hasMax
			g, err := c.Admit(context.Background(), p, r)
			if tt.wantCap == 0 {
				if err != nil {
					t.Fatalf("Admit = %v, want admitted", err)
				}
				if g.MaxTokens != tt.wantGrant {
					t.Errorf("Grant.MaxTokens = %d, want %d", g.MaxTokens, tt.wantGrant)
				}
				return
			}
			want := &apierror.Error{
				Status: http.StatusBadRequest, Type: apierror.TypeInvalidRequest, Param: "max_tokens", Code: "max_tokens_exceeded",
				Message: fmt.Sprintf("max_tokens %d is above this key's cap of %d; send max_tokens of %d or less", tt.asked, tt.wantCap, tt.wantCap),
			}
			if diff := cmp.Diff(want, asAPIError(t, err)); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaxTokensCap(t *testing.T) {
	tests := []struct {
		keyCap, eventCap int
		event            bool
		want             int64
	}{
		{0, 0, false, 0},
		{100, 0, false, 100},
		{100, 0, true, 100},
		{0, 50, true, 50},
		{100, 50, true, 50},
		{50, 100, true, 50},
		{50, 50, true, 50},
	}
	for _, tt := range tests {
		p := &auth.Principal{MaxTokens: tt.keyCap}
		if tt.event {
			p.Event = &auth.Event{MaxTokenCap: tt.eventCap}
		}
		if got := access.MaxTokensCap(p); got != tt.want {
			t.Errorf("MaxTokensCap(key %d, event %v %d) = %d, want %d", tt.keyCap, tt.event, tt.eventCap, got, tt.want)
		}
	}
}

func TestModels(t *testing.T) {
	tests := []struct {
		name      string
		key       []string
		event     []string // nil with noEvent: no event at all
		noEvent   bool
		want      []string
		model     string
		wantAllow bool
		wantList  string // in the refusal
	}{
		{"none", nil, nil, true, nil, "anything", true, ""},
		{"empty lists", []string{}, []string{}, false, nil, "anything", true, ""},
		{"key only, in", []string{"gpt-4o", "o3"}, nil, true, []string{"gpt-4o", "o3"}, "o3", true, ""},
		{"key only, out", []string{"gpt-4o", "o3"}, nil, true, []string{"gpt-4o", "o3"}, "gpt-5", false, "gpt-4o, o3"},
		{"event only, in", nil, []string{"gpt-4o-mini"}, false, []string{"gpt-4o-mini"}, "gpt-4o-mini", true, ""},
		{"event only, out", nil, []string{"gpt-4o-mini"}, false, []string{"gpt-4o-mini"}, "gpt-4o", false, "gpt-4o-mini"},
		{"both, in the intersection", []string{"a", "b", "c"}, []string{"c", "b", "z"}, false, []string{"b", "c"}, "b", true, ""},
		{"both, key only", []string{"a", "b", "c"}, []string{"c", "b", "z"}, false, []string{"b", "c"}, "a", false, "b, c"},
		{"both, event only", []string{"a", "b", "c"}, []string{"c", "b", "z"}, false, []string{"b", "c"}, "z", false, "b, c"},
		{"disjoint", []string{"a"}, []string{"z"}, false, []string{}, "a", false, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &auth.Principal{KeyID: "k", Models: tt.key}
			if !tt.noEvent {
				p.Event = openEvent("e")
				p.Event.Start, p.Event.End = limitstest.Start.Add(-time.Hour), limitstest.Start.Add(time.Hour)
				p.Event.Models = tt.event
			}
			got := access.Models(p)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Models (-want +got):\n%s", diff)
			}
			if (got == nil) != (tt.want == nil) {
				t.Errorf("Models = %#v, want %#v (nil means any model)", got, tt.want)
			}

			c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
			r := chat(-1)
			r.Model = tt.model
			_, err := c.Admit(context.Background(), p, r)
			if tt.wantAllow {
				if err != nil {
					t.Fatalf("Admit(%q) = %v, want admitted", tt.model, err)
				}
				return
			}
			want := &apierror.Error{
				Status: http.StatusForbidden, Type: apierror.TypePermission, Param: "model", Code: "model_not_allowed",
				Message: `model "` + tt.model + `" is not allowed for this key; allowed: ` + tt.wantList,
			}
			if diff := cmp.Diff(want, asAPIError(t, err)); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdmitRPM(t *testing.T) {
	tests := []struct {
		name      string
		at        time.Time
		wantRetry time.Duration
		wantSecs  string
	}{
		{"20s into the minute", time.Date(2026, 6, 10, 12, 0, 20, 0, time.UTC), 40 * time.Second, "40"},
		{"mid-second", time.Date(2026, 6, 10, 12, 0, 20, 500_000_000, time.UTC), 39500 * time.Millisecond, "40"},
		{"last millisecond", time.Date(2026, 6, 10, 12, 0, 59, 999_000_000, time.UTC), time.Millisecond, "1"},
		{"minute boundary", time.Date(2026, 6, 10, 12, 1, 0, 0, time.UTC), time.Minute, "60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := limitstest.NewClock(tt.at)
			c := newChecker(clock, access.Options{})
			p := &auth.Principal{KeyID: "k", RPM: 3}
			admitN(t, c, p, chat(-1), 3)
			want := &apierror.Error{
				Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: tt.wantRetry,
				Message: "rate limit of 3 requests per minute reached for this key; retry after " + tt.wantSecs + "s",
			}
			if diff := cmp.Diff(want, refused(t, c, p, chat(-1))); diff != "" {
				t.Errorf("4th request (-want +got):\n%s", diff)
			}
			// Another key is not affected.
			admitN(t, c, &auth.Principal{KeyID: "k2", RPM: 3}, chat(-1), 3)

			clock.Advance(tt.wantRetry)
			admitN(t, c, p, chat(-1), 3)
			refused(t, c, p, chat(-1))
		})
	}
}

func TestAdmitTPMEstimate(t *testing.T) {
	tests := []struct {
		name   string
		keyCap int
		r      access.Request
		want   int64
	}{
		{"prompt + asked", 0, access.Request{MaxTokens: 50, HasMaxTokens: true, PromptTokens: access.PromptFunc(func() int64 { return 20 })}, 70},
		{"prompt + cap when absent", 100, access.Request{MaxTokens: -1, HasMaxTokens: true, PromptTokens: access.PromptFunc(func() int64 { return 20 })}, 120},
		{"prompt + asked below cap", 100, access.Request{MaxTokens: 30, HasMaxTokens: true, PromptTokens: access.PromptFunc(func() int64 { return 20 })}, 50},
		{"embeddings: prompt only", 100, access.Request{MaxTokens: -1, PromptTokens: access.PromptFunc(func() int64 { return 20 })}, 20},
		{"no estimator, absent, no cap: at least 1", 0, access.Request{MaxTokens: -1, HasMaxTokens: true}, 1},
		{"all zero: at least 1", 0, access.Request{MaxTokens: 0, HasMaxTokens: true, PromptTokens: access.PromptFunc(func() int64 { return 0 })}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
			g, err := c.Admit(context.Background(), &auth.Principal{KeyID: "k", TPM: 10_000, MaxTokens: tt.keyCap}, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if g.Estimate != tt.want {
				t.Errorf("Grant.Estimate = %d, want %d", g.Estimate, tt.want)
			}
		})
	}
}

// TestAdmitPromptTokensOnlyForTPM: estimating the prompt costs a scan of
// the body; it is skipped when no tpm limit needs it.
func TestAdmitPromptTokensOnlyForTPM(t *testing.T) {
	c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
	calls := 0
	r := chat(-1)
	r.PromptTokens = access.PromptFunc(func() int64 { calls++; return 10 })
	if _, err := c.Admit(context.Background(), &auth.Principal{KeyID: "k", RPM: 10}, r); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("PromptTokens called %d times without a tpm limit, want 0", calls)
	}
	if _, err := c.Admit(context.Background(), &auth.Principal{KeyID: "k", TPM: 100}, r); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("PromptTokens called %d times with a tpm limit, want 1", calls)
	}
}

func TestAdmitTPM(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	p := &auth.Principal{KeyID: "k", TPM: 250}
	r := chat(100) // no estimator: 100 tokens

	admitN(t, c, p, r, 2)
	want := &apierror.Error{
		Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "rate_limit_exceeded", RetryAfter: 45 * time.Second,
		Message: "rate limit of 250 tokens per minute reached for this key; retry after 45s",
	}
	if diff := cmp.Diff(want, refused(t, c, p, r)); diff != "" {
		t.Errorf("3rd request (-want +got):\n%s", diff)
	}
	// What is left still fits smaller requests.
	admitN(t, c, p, chat(50), 1)
	refused(t, c, p, chat(1))

	clock.Advance(45 * time.Second)
	admitN(t, c, p, r, 2)
}

func TestAdmitRequestTooLarge(t *testing.T) {
	c := newChecker(limitstest.NewClock(limitstest.Start), access.Options{})
	p := &auth.Principal{KeyID: "k", RPM: 2, TPM: 100}
	r := chat(150)
	r.PromptTokens = access.PromptFunc(func() int64 { return 50 })
	want := &apierror.Error{
		Status: http.StatusTooManyRequests, Type: apierror.TypeRateLimit, Code: "tokens_exceed_limit",
		Message: "this request needs about 200 tokens (prompt and max_tokens), more than this key's limit of 100 tokens per minute; send fewer tokens or a lower max_tokens",
	}
	// Refused every time, with no Retry-After: waiting does not help. Nor
	// does it use up the rpm limit.
	for range 3 {
		if diff := cmp.Diff(want, refused(t, c, p, r)); diff != "" {
			t.Errorf("refusal (-want +got):\n%s", diff)
		}
	}
	admitN(t, c, p, chat(100), 1) // exactly the whole limit fits
}

func TestSettleCorrectsTPM(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	c := newChecker(clock, access.Options{})

	t.Run("fewer tokens", func(t *testing.T) {
		p := &auth.Principal{KeyID: "fewer", TPM: 250}
		g1, err := c.Admit(ctx, p, chat(100))
		if err != nil {
			t.Fatal(err)
		}
		admitN(t, c, p, chat(100), 1) // 200 of 250
		refused(t, c, p, chat(100))
		c.Settle(ctx, g1, 10, 0) // 110 of 250
		admitN(t, c, p, chat(100), 1)
		admitN(t, c, p, chat(40), 1) // 250 of 250
		refused(t, c, p, chat(1))
	})
	t.Run("more tokens", func(t *testing.T) {
		p := &auth.Principal{KeyID: "more", TPM: 300}
		g, err := c.Admit(ctx, p, chat(100))
		if err != nil {
			t.Fatal(err)
		}
		c.Settle(ctx, g, 250, 0) // 250 of 300
		refused(t, c, p, chat(100))
		admitN(t, c, p, chat(50), 1)
	})
	t.Run("exact", func(t *testing.T) {
		p := &auth.Principal{KeyID: "exact", TPM: 200}
		g, err := c.Admit(ctx, p, chat(100))
		if err != nil {
			t.Fatal(err)
		}
		c.Settle(ctx, g, 100, 0)
		admitN(t, c, p, chat(100), 1)
		refused(t, c, p, chat(1))
	})
}

func BenchmarkAdmit(b *testing.B) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	c := access.New(access.Options{Limiter: limits.NewMemory(clock), Now: clock, Logger: slog.New(slog.DiscardHandler)})
	ev := openEvent("hack")
	ev.DailyRequestCap = 1 << 40
	ev.Models = []string{"gpt-4o", "gpt-4o-mini"}
	ev.MaxTokenCap = 1000
	p := &auth.Principal{KeyID: "att-alice", RPM: 1 << 40, TPM: 1 << 50, Event: ev, Attendee: "alice"}
	r := chat(-1)
	r.PromptTokens = access.PromptFunc(func() int64 { return 200 })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Admit(ctx, p, r); err != nil {
			b.Fatal(err)
		}
	}
}
