package access_test

import (
	"context"
	"crypto/rand"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/limits/limitstest"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// TestAdmitRateLimits: every answer tells the tightest requests limit and
// the tightest tokens limit, as of this request, refused ones included.
func TestAdmitRateLimits(t *testing.T) {
	ctx := context.Background()
	// 15s into a minute, 12h into the day.
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	ev := openEvent("hack")
	ev.DailyRequestCap = 3
	p := &auth.Principal{KeyID: "k", RPM: 5, TPM: 1000, Event: ev}
	steps := []struct {
		name    string
		refused bool
		want    access.RateLimits
	}{
		// rpm 5 has 4 left, the daily cap 2: the daily cap is tighter.
		{"first", false, access.RateLimits{
			Requests: access.Quota{Limit: 3, Remaining: 2, Reset: 12*time.Hour - 15*time.Second},
			Tokens:   access.Quota{Limit: 1000, Remaining: 900, Reset: 45 * time.Second}}},
		{"second", false, access.RateLimits{
			Requests: access.Quota{Limit: 3, Remaining: 1, Reset: 12*time.Hour - 15*time.Second},
			Tokens:   access.Quota{Limit: 1000, Remaining: 800, Reset: 45 * time.Second}}},
		{"third", false, access.RateLimits{
			Requests: access.Quota{Limit: 3, Remaining: 0, Reset: 12*time.Hour - 15*time.Second},
			Tokens:   access.Quota{Limit: 1000, Remaining: 700, Reset: 45 * time.Second}}},
		// Refused by the daily cap: nothing taken, the counts as they are.
		{"refused", true, access.RateLimits{
			Requests: access.Quota{Limit: 3, Remaining: 0, Reset: 12*time.Hour - 15*time.Second},
			Tokens:   access.Quota{Limit: 1000, Remaining: 700, Reset: 45 * time.Second}}},
	}
	for _, s := range steps {
		g, err := c.Admit(ctx, p, chat(100))
		if got, want := err != nil, s.refused; got != want {
			t.Fatalf("%s: refused = %v (%v), want %v", s.name, got, err, want)
		}
		if diff := cmp.Diff(s.want, g.Limits); diff != "" {
			t.Errorf("%s: Limits (-want +got):\n%s", s.name, diff)
		}
	}
}

func TestRateLimitsWriteHeaders(t *testing.T) {
	tests := []struct {
		name string
		rl   access.RateLimits
		want http.Header
	}{
		{"none", access.RateLimits{}, http.Header{}},
		{"requests only", access.RateLimits{Requests: access.Quota{Limit: 60, Remaining: 59, Reset: 1500 * time.Millisecond}}, http.Header{
			"X-Ratelimit-Limit-Requests":     {"60"},
			"X-Ratelimit-Remaining-Requests": {"59"},
			"X-Ratelimit-Reset-Requests":     {"1.5s"},
		}},
		{"both", access.RateLimits{
			Requests: access.Quota{Limit: 3, Remaining: 0, Reset: 6 * time.Hour},
			Tokens:   access.Quota{Limit: 1000, Remaining: 12, Reset: 20*time.Millisecond + 300*time.Microsecond}}, http.Header{
			"X-Ratelimit-Limit-Requests":     {"3"},
			"X-Ratelimit-Remaining-Requests": {"0"},
			"X-Ratelimit-Reset-Requests":     {"6h0m0s"},
			"X-Ratelimit-Limit-Tokens":       {"1000"},
			"X-Ratelimit-Remaining-Tokens":   {"12"},
			"X-Ratelimit-Reset-Tokens":       {"20ms"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.rl.WriteHeaders(rec.Header())
			if diff := cmp.Diff(tt.want, rec.Header()); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if got, want := tt.rl.Any(), len(tt.want) > 0; got != want {
				t.Errorf("Any() = %v, want %v", got, want)
			}
		})
	}
}

// TestResetText: a reset header says its duration as OpenAI does, which
// is Go's Duration.String to the millisecond ("1s", "6m0s", "20ms").
func TestResetText(t *testing.T) {
	ds := []time.Duration{
		0, 1, 499 * time.Microsecond, 500 * time.Microsecond, time.Millisecond,
		20*time.Millisecond + 300*time.Microsecond, 999 * time.Millisecond, 999500 * time.Microsecond,
		time.Second, 1500 * time.Millisecond, 1050 * time.Millisecond, 1001 * time.Millisecond,
		59999 * time.Millisecond, time.Minute, 6 * time.Minute, 6*time.Minute + 1500*time.Millisecond,
		time.Hour, 6 * time.Hour, 24*time.Hour - time.Millisecond, 25*time.Hour + 61*time.Second,
		-time.Second, -1500 * time.Microsecond, math.MaxInt64, math.MinInt64,
	}
	// Every 7.001 ms of a day, past every digit pattern of each unit.
	for d := time.Duration(0); d < 25*time.Hour; d += 7001 * time.Microsecond {
		ds = append(ds, d)
	}
	for _, d := range ds {
		if got, want := string(access.AppendReset(nil, d)), d.Round(time.Millisecond).String(); got != want {
			t.Fatalf("reset text of %d ns = %q, want %q", int64(d), got, want)
		}
	}
}

func FuzzResetText(f *testing.F) {
	for _, d := range []int64{0, 20e6, 1e9, 36e10, math.MaxInt64, -1} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		d := time.Duration(n)
		if got, want := string(access.AppendReset([]byte("x"), d)), "x"+d.Round(time.Millisecond).String(); got != want {
			t.Fatalf("reset text of %d ns = %q, want %q", n, got, want)
		}
	})
}

// TestWriteHeadersAllocs: the six headers' values are formatted into one
// string and share one backing array.
func TestWriteHeadersAllocs(t *testing.T) {
	rl := access.RateLimits{
		Requests: access.Quota{Limit: 600, Remaining: 599, Reset: 1500 * time.Millisecond},
		Tokens:   access.Quota{Limit: 100000, Remaining: 99000, Reset: 6*time.Minute + 20*time.Millisecond},
	}
	h := http.Header{}
	rl.WriteHeaders(h) // the map has its six keys: only the values are counted
	if got, want := testing.AllocsPerRun(100, func() { rl.WriteHeaders(h) }), 2.0; got != want {
		t.Errorf("WriteHeaders allocations = %v, want %v", got, want)
	}
	want := http.Header{
		"X-Ratelimit-Limit-Requests":     {"600"},
		"X-Ratelimit-Remaining-Requests": {"599"},
		"X-Ratelimit-Reset-Requests":     {"1.5s"},
		"X-Ratelimit-Limit-Tokens":       {"100000"},
		"X-Ratelimit-Remaining-Tokens":   {"99000"},
		"X-Ratelimit-Reset-Tokens":       {"6m0.02s"},
	}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
}

// failAdjust is a limiter whose Adjusts fail.
type failAdjust struct{ limits.Limiter }

func (f failAdjust) Adjust(context.Context, string, time.Duration, int64) error { return errDown }

// TestAdjustFailuresCounted: a give-back or correction that fails is
// counted, never dropped silently.
func TestAdjustFailuresCounted(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	c := newChecker(clock, access.Options{Limiter: failAdjust{limits.NewMemory(clock.Now)}})
	p := &auth.Principal{KeyID: "k", RPM: 5, TPM: 1000}
	g, err := c.Admit(ctx, p, chat(100))
	if err != nil {
		t.Fatal(err)
	}
	c.Settle(ctx, g, 40, 0)
	if got, want := c.AdjustFailures(), int64(1); got != want {
		t.Fatalf("AdjustFailures after a failed correction = %d, want %d", got, want)
	}
	c.Release(ctx, g)
	if got, want := c.AdjustFailures(), int64(3); got != want { // rpm and tpm
		t.Fatalf("AdjustFailures after a failed release = %d, want %d", got, want)
	}
}

// TestSettleOutlivesTheClient: a correction made with the client's
// cancelled context still reaches the limiter.
func TestSettleOutlivesTheClient(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	client, prefix := testRedis(t)
	c := newChecker(clock, access.Options{Limiter: limits.NewRedis(client, prefix, clock.Now)})
	p := &auth.Principal{KeyID: "k", TPM: 300}
	g, err := c.Admit(context.Background(), p, chat(200))
	if err != nil {
		t.Fatal(err)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	c.Settle(gone, g, 10, 0) // 10 of 300 used
	if got := c.AdjustFailures(); got != 0 {
		t.Fatalf("AdjustFailures = %d, want 0", got)
	}
	admitN(t, c, p, chat(290), 1)
}

// roundTrips counts the commands a Redis client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

func testRedis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opts, err := redis.ParseURL(testenv.Redis(tb))
	if err != nil {
		tb.Fatal(err)
	}
	client := redis.NewClient(opts)
	tb.Cleanup(func() { client.Close() })
	return client, "spillway-test:" + rand.Text() + ":"
}

// TestAdmitOneRoundTrip pins the cost of a key's limits on Redis: a
// request under a key's rpm and tpm and its event's daily cap is one
// Redis command, admitted or refused.
func TestAdmitOneRoundTrip(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	client, prefix := testRedis(t)
	rt := &roundTrips{}
	client.AddHook(rt)
	c := newChecker(clock, access.Options{Limiter: limits.NewRedis(client, prefix, clock.Now)})
	ev := openEvent("hack")
	ev.DailyRequestCap = 3
	p := &auth.Principal{KeyID: "k", RPM: 100, TPM: 100000, Event: ev}
	admitN(t, c, p, chat(100), 1) // loads the script
	for i, refuse := range []bool{false, false, true} {
		rt.n.Store(0)
		_, err := c.Admit(context.Background(), p, chat(100))
		if got := err != nil; got != refuse {
			t.Fatalf("request %d: refused = %v (%v), want %v", i+2, got, err, refuse)
		}
		if got, want := rt.n.Load(), int64(1); got != want {
			t.Fatalf("request %d: %d Redis round trips, want %d", i+2, got, want)
		}
	}
}

func BenchmarkAdmitRedis(b *testing.B) {
	client, prefix := testRedis(b)
	now := func() time.Time { return time.Now() }
	c := access.New(access.Options{Limiter: limits.NewRedis(client, prefix, now), Now: now})
	p := &auth.Principal{KeyID: "k", RPM: 1 << 40, TPM: 1 << 50}
	r := chat(16)
	r.PromptTokens = access.PromptFunc(func() int64 { return 20 })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Admit(ctx, p, r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAdmitMaxParallel: a key's requests in flight are capped; a refused
// one counts nothing, and a finished one frees its slot.
func TestAdmitMaxParallel(t *testing.T) {
	ctx := context.Background()
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	c := newChecker(clock, access.Options{})
	p := &auth.Principal{KeyID: "k", RPM: 10, MaxParallel: 2}
	a, err := c.Admit(ctx, p, chat(10))
	if err != nil {
		t.Fatal(err)
	}
	admitN(t, c, p, chat(10), 1)
	e := refused(t, c, p, chat(10))
	if got, want := e.Code, "parallel_requests_exceeded"; got != want || e.Status != http.StatusTooManyRequests {
		t.Fatalf("refusal = %d %s, want 429 %s", e.Status, got, want)
	}
	c.Finish(ctx, a)
	b, err := c.Admit(ctx, p, chat(10))
	if err != nil {
		t.Fatalf("after one finished: %v, want admitted", err)
	}
	// Three admitted so far (the refused one gave its rpm back): 7 left.
	if got, want := b.Limits.Requests.Remaining, int64(7); got != want {
		t.Errorf("rpm remaining = %d, want %d", got, want)
	}
	c.Finish(ctx, b)
	c.Finish(ctx, b) // twice is harmless
	admitN(t, c, p, chat(10), 1)
}

// TestMaxParallelAcrossReplicas: two replicas on one Redis share the cap.
func TestMaxParallelAcrossReplicas(t *testing.T) {
	clock := limitstest.NewClock(time.Date(2026, 6, 10, 12, 0, 15, 0, time.UTC))
	client, prefix := testRedis(t)
	replicas := []*access.Checker{
		newChecker(clock, access.Options{Limiter: limits.NewRedis(client, prefix, clock.Now)}),
		newChecker(clock, access.Options{Limiter: limits.NewRedis(client, prefix, clock.Now)}),
	}
	p := &auth.Principal{KeyID: "k", MaxParallel: 3}
	var held []access.Grant
	for i := range 3 {
		g, err := replicas[i%2].Admit(context.Background(), p, chat(10))
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		held = append(held, g)
	}
	for _, c := range replicas {
		refused(t, c, p, chat(10))
	}
	replicas[1].Finish(context.Background(), held[0]) // taken on replica 0
	admitN(t, replicas[0], p, chat(10), 1)
}

// BenchmarkWriteHeaders is the x-ratelimit-* headers of a caller with rpm
// and tpm limits, written on every governed answer.
func BenchmarkWriteHeaders(b *testing.B) {
	rl := access.RateLimits{
		Requests: access.Quota{Limit: 600, Remaining: 599, Reset: 41*time.Second + 250*time.Millisecond},
		Tokens:   access.Quota{Limit: 100000, Remaining: 99000, Reset: 41*time.Second + 250*time.Millisecond},
	}
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		rl.WriteHeaders(h)
	}
}
