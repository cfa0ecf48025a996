package access_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/apierror"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
)

// TestAdmitPending: with Request.Pending, Admit lists the caller's limits
// and takes nothing; taken elsewhere, Counted turns their decisions into
// the grant or the caller's own refusal, with its headers. A key holding
// parallel slots is counted at once all the same.
func TestAdmitPending(t *testing.T) {
	tests := []struct {
		name         string
		p            *auth.Principal
		used         int64 // of the key's rpm, already taken
		wantDeferred bool
		wantLimits   int
		wantRefused  bool
	}{
		{name: "key rpm and tpm, event cap: listed", p: &auth.Principal{KeyID: "k", RPM: 2, TPM: 1000, Event: func() *auth.Event { e := openEvent("ev"); e.DailyRequestCap = 9; return e }()},
			wantDeferred: true, wantLimits: 3},
		{name: "key at its rpm: refused by Counted", p: &auth.Principal{KeyID: "k", RPM: 2, TPM: 1000}, used: 2,
			wantDeferred: true, wantLimits: 2, wantRefused: true},
		{name: "no counted limits: nothing to defer", p: &auth.Principal{KeyID: "k"}},
		{name: "parallel slots: counted at once", p: &auth.Principal{KeyID: "k", RPM: 2, MaxParallel: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
			lim := limits.NewMemory(clock.Now)
			c := newChecker(clock, access.Options{Limiter: lim})
			ctx := context.Background()
			if tt.used > 0 {
				if _, err := lim.Take(ctx, "key:rpm:k", int64(tt.p.RPM), time.Minute, tt.used); err != nil {
					t.Fatal(err)
				}
			}
			var pd access.Pending
			r := chat(100)
			r.Pending = &pd
			g, err := c.Admit(ctx, tt.p, r)
			if err != nil {
				t.Fatalf("Admit: %v, want admitted", err)
			}
			if got, want := pd.Deferred(), tt.wantDeferred; got != want {
				t.Fatalf("Deferred() = %v, want %v", got, want)
			}
			if got, want := len(pd.Limits()), tt.wantLimits; got != want {
				t.Fatalf("%d limits listed, want %d", got, want)
			}
			if !tt.wantDeferred {
				if tt.p.RPM > 0 {
					// Counted at once: the key's rpm was taken by Admit.
					if d, _ := lim.Take(ctx, "key:rpm:k", int64(tt.p.RPM), time.Minute, 0); d.Remaining != int64(tt.p.RPM)-1 {
						t.Errorf("key rpm left after Admit = %d, want %d", d.Remaining, tt.p.RPM-1)
					}
				}
				return
			}
			if d, _ := lim.Take(ctx, "key:rpm:k", 2, time.Minute, 0); d.Remaining != 2-tt.used {
				t.Fatalf("key rpm left after Admit = %d, want %d: Admit took", d.Remaining, 2-tt.used)
			}
			err = limits.TakeAll(ctx, pd.Limiter(), pd.Limits(), pd.Decisions())
			g, err = c.Counted(&pd, g, err)
			var ae *apierror.Error
			if got := errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests; got != tt.wantRefused {
				t.Fatalf("Counted: %v, want refused %v", err, tt.wantRefused)
			}
			h := http.Header{}
			g.Limits.WriteHeaders(h)
			want := "1"
			if tt.wantRefused {
				want = "0"
			}
			if got := h.Get("X-Ratelimit-Remaining-Requests"); got != want {
				t.Errorf("x-ratelimit-remaining-requests %q, want %q", got, want)
			}
			if got, want := pd.Deferred(), false; got != want {
				t.Errorf("Deferred() after Counted = %v, want %v", got, want)
			}
		})
	}
}

// TestPendingKeys: a request's limiter keys, its key's, its team's and its
// event's daily cap's, are listed in one string: one allocation for all
// five, where each was one.
func TestPendingKeys(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	ev := openEvent("ev")
	ev.DailyRequestCap = 1 << 40
	p := &auth.Principal{KeyID: "k1", RPM: 1 << 40, TPM: 1 << 50, Event: ev,
		Team: &auth.Team{ID: "red", RPM: 1 << 40, TPM: 1 << 50}}
	ctx := context.Background()
	var pd access.Pending
	r := chat(100)
	r.Pending = &pd
	if _, err := c.Admit(ctx, p, r); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, l := range pd.Limits() {
		keys = append(keys, l.Key)
	}
	want := []string{"key:rpm:k1", "key:tpm:k1", "team:rpm:red", "team:tpm:red", "event:daily:ev:k1"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("limiter keys (-want +got):\n%s", diff)
	}
	if got, want := testing.AllocsPerRun(100, func() { _, _ = c.Admit(ctx, p, r) }), 1.0; got != want {
		t.Errorf("Admit of a deferred count allocated %v times, want %v (the keys' string)", got, want)
	}
}
