package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spillwayhq/spillway/internal/access"
	"github.com/spillwayhq/spillway/internal/auth"
	"github.com/spillwayhq/spillway/internal/config"
	"github.com/spillwayhq/spillway/internal/limits"
	"github.com/spillwayhq/spillway/internal/router"
	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/testenv"
)

// redisCommands counts what a Redis client sends: one per command, one
// per pipeline.
type redisCommands struct{ n atomic.Int64 }

func (c *redisCommands) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *redisCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}
func (c *redisCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// arrivals is an upstream that notes, for each request, which deployment
// got it and how many Redis round trips had been made by then.
type arrivals struct {
	rt   *redisCommands
	mu   sync.Mutex
	host string
	at   int64
}

func (a *arrivals) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	r.Body.Close()
	a.mu.Lock()
	a.host, a.at = r.URL.Host, a.rt.n.Load()
	a.mu.Unlock()
	body := []byte(benchChatResponse)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// TestGovernedOneRoundTrip pins the Redis cost of admitting a request
// under its key's rpm and tpm, its team's and its event's daily cap, sent
// to a deployment with rpm and tpm: one round trip, the caller's limits
// and the deployment's in one script. A request whose first deployment
// is full (another replica filled it) makes a second, to the next
// deployment, without charging the caller twice; a caller at its own
// limit is refused in one, with its own 429. The tpm corrections by the
// upstream's usage (the key's, the team's, the deployment's) wait, summed
// per counter with the other requests' (limits.Fallback.WithCoalescing):
// a replica sends the corrections of all its requests in one script.
// Two replicas share the counts, which end exact.
func TestGovernedOneRoundTrip(t *testing.T) {
	clk := newClock()
	clk.Advance(15 * time.Second) // the minute's window ends in 45s
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	rt := &redisCommands{}
	rdb.AddHook(rt)
	prefix := "spillway-test:" + rand.Text() + ":"

	deps := []config.Deployment{
		accessTestDeployment("a", "gpt-4o", config.ClassChat, 1, 2, 1<<30),
		accessTestDeployment("b", "gpt-4o", config.ClassChat, 2, 100, 1<<30),
	}
	deps[0].Endpoint, deps[1].Endpoint = "http://a.test", "http://b.test"
	h := auth.Hash("sk-governed")
	ev := store.Event{ID: "ev", Name: "hack", Start: clk.Now().Add(-time.Hour), End: clk.Now().Add(time.Hour), DailyRequestCap: 50, Active: true}
	key := store.Key{ID: "k", Hash: h[:], TeamID: "t", EventID: "ev", Attendee: "ada", RPM: 4, TPM: 1 << 30}
	team := store.Team{ID: "t", RPM: 100, TPM: 1 << 30}

	up := &arrivals{rt: rt}
	var lims []*limits.Fallback
	var stops []func() // each replica's coalescing
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	replica := func() *Gateway {
		// No interval ends during the test: the corrections go out when
		// the coalescing stops.
		lim := limits.NewFallback(limits.NewRedis(rdb, prefix, clk.Now), limits.NewMemory(clk.Now), slog.New(slog.DiscardHandler)).
			WithCoalescing(time.Hour, clk.Now)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { lim.Run(ctx); close(done) }()
		for !lim.Coalescing() {
			runtime.Gosched()
		}
		stops = append(stops, func() { cancel(); <-done })
		lims = append(lims, lim)
		r, err := router.New(router.Options{Now: clk.Now, Limiter: lim}, deps)
		if err != nil {
			t.Fatal(err)
		}
		ring := auth.NewKeyring(nil, clk.Now)
		ring.LoadAccess([]store.Key{key}, []store.Event{ev}, []store.Team{team})
		return New(Options{Router: r, Auth: ring, Transport: up, Logger: slog.New(slog.DiscardHandler),
			Access: access.New(access.Options{Limiter: lim, Now: clk.Now, Logger: slog.New(slog.DiscardHandler)})})
	}
	replicas := []*Gateway{replica(), replica()}

	// Redis caches the scripts on first use (NOSCRIPT, then EVAL): load
	// them before counting.
	warm := limits.NewRedis(rdb, prefix+"warm:", clk.Now)
	if err := warm.TakeAll(context.Background(), []limits.Limit{{Key: "w", Limit: 1, Window: time.Minute, Cost: 0}}, make([]limits.Decision, 1)); err != nil {
		t.Fatal(err)
	}
	if err := warm.AdjustAll(context.Background(), []limits.Adjustment{{Key: "w", Window: time.Minute, Delta: 1}}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		replica int
		status  int
		host    string // the deployment that answered
		trips   int64  // Redis round trips before the upstream got it, or in all when refused
	}{
		{"first request: caller and deployment a in one script", 0, 200, "a.test", 1},
		{"a's last rpm", 0, 200, "a.test", 1},
		{"the other replica finds a full and spills to b", 1, 200, "b.test", 2},
		{"it now knows a is full and goes to b at once", 1, 200, "b.test", 1},
		{"the key's rpm of 4 is spent: its own 429", 0, 429, "", 1},
	}
	for i, s := range steps {
		rt.n.Store(0)
		up.mu.Lock()
		up.host, up.at = "", -1
		up.mu.Unlock()
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`))
		req.Header.Set("Authorization", "Bearer sk-governed")
		w := httptest.NewRecorder()
		replicas[s.replica].ServeHTTP(w, req)
		if got, want := w.Code, s.status; got != want {
			t.Fatalf("step %d (%s): status %d, want %d: %s", i, s.name, got, want, w.Body)
		}
		if got, want := w.Header().Get("X-Ratelimit-Limit-Requests"), "4"; got != want {
			t.Errorf("step %d (%s): x-ratelimit-limit-requests %q, want %q", i, s.name, got, want)
		}
		up.mu.Lock()
		host, at := up.host, up.at
		up.mu.Unlock()
		if got, want := host, s.host; got != want {
			t.Errorf("step %d (%s): answered by %q, want %q", i, s.name, got, want)
		}
		trips := at
		if s.status != 200 {
			trips = rt.n.Load()
			if got, want := w.Header().Get("Retry-After"), "45"; got != want {
				t.Errorf("step %d (%s): Retry-After %q, want %q", i, s.name, got, want)
			}
			if got, want := w.Header().Get("X-Ratelimit-Remaining-Requests"), "0"; got != want {
				t.Errorf("step %d (%s): x-ratelimit-remaining-requests %q, want %q", i, s.name, got, want)
			}
			if !strings.Contains(w.Body.String(), "rate limit of 4 requests per minute reached for this key") {
				t.Errorf("step %d (%s): body %s, want the key's refusal", i, s.name, w.Body)
			}
		}
		if got, want := trips, s.trips; got != want {
			t.Errorf("step %d (%s): %d Redis round trips, want %d", i, s.name, got, want)
		}
		// The tpm corrections by the upstream's usage wait.
		if got, want := rt.n.Load(), s.trips; got != want {
			t.Errorf("step %d (%s): %d Redis round trips in all, want %d", i, s.name, got, want)
		}
	}

	// Each replica sends the corrections of its two requests, summed per
	// counter, in one script: two in all.
	rt.n.Store(0)
	for _, stop := range stops {
		stop()
	}
	if got, want := rt.n.Load(), int64(len(replicas)); got != want {
		t.Errorf("%d Redis round trips for the corrections of 4 requests on %d replicas, want %d", got, len(replicas), want)
	}

	// Every count is exact across the replicas: four requests admitted,
	// each charged once to the key, its team and its event, and to the one
	// deployment that took it, the tpm counts by the 17 tokens each used.
	const used = 17 // benchChatResponse's total_tokens
	counts := []struct {
		key    string
		limit  int64
		window time.Duration
		want   int64 // remaining
	}{
		{"key:rpm:k", 4, time.Minute, 0},
		{"team:rpm:t", 100, time.Minute, 96},
		{"event:daily:ev:k", 50, 24 * time.Hour, 46},
		{"deployment:rpm:a", 2, time.Minute, 0},
		{"deployment:rpm:b", 100, time.Minute, 98},
		{"key:tpm:k", 1 << 30, time.Minute, 1<<30 - 4*used},
		{"team:tpm:t", 1 << 30, time.Minute, 1<<30 - 4*used},
		{"deployment:tpm:a", 1 << 30, time.Minute, 1<<30 - 2*used},
		{"deployment:tpm:b", 1 << 30, time.Minute, 1<<30 - 2*used},
	}
	for _, c := range counts {
		var out [1]limits.Decision
		if err := lims[0].TakeAll(context.Background(), []limits.Limit{{Key: c.key, Limit: c.limit, Window: c.window}}, out[:]); err != nil {
			t.Fatal(err)
		}
		if got, want := out[0].Remaining, c.want; got != want {
			t.Errorf("%s: %d left of %d, want %d", c.key, got, c.limit, want)
		}
	}
}
