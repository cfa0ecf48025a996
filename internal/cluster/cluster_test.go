package cluster

import (
	"context"
	"crypto/rand"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/spillwayhq/spillway/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testRedis returns a client for the test Redis and a fresh prefix.
// Without Redis the test skips (fails under CI): testenv decides.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c, "spillway-test:" + rand.Text() + ":"
}

// recorder is an Applier that records what it is told.
type recorder struct {
	mu    sync.Mutex
	got   map[string]time.Time
	notes map[string]string
}

func (r *recorder) ApplyCooldown(id string, until time.Time, reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got, r.notes = map[string]time.Time{}, map[string]string{}
	}
	r.got[id], r.notes[id] = until, reason
	return true
}

func (r *recorder) until(id string) (time.Time, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.got[id]
	return t, r.notes[id], ok
}

// waitFor polls cond until it holds or the test's deadline context ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func run(t *testing.T, c *Cooldowns) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestCooldownReachesOtherReplica: a cooldown published by replica A is
// applied by replica B, with its deadline and reason; A does not apply its
// own; and a replica that starts later loads the cooldowns still running.
func TestCooldownReachesOtherReplica(t *testing.T) {
	client, prefix := testRedis(t)
	recA, recB := &recorder{}, &recorder{}
	a := New(client, prefix, "A", recA, nil)
	b := New(client, prefix, "B", recB, nil)
	run(t, a)
	run(t, b)
	// B must be subscribed before A publishes, or it would only learn of
	// the cooldown at its next (re)subscription.
	waitFor(t, "replicas subscribed", func() bool { return a.subscribed.Load() && b.subscribed.Load() && a.Healthy() && b.Healthy() })

	until := time.Now().Add(30 * time.Second).Truncate(time.Millisecond)
	a.Publish("east", until, "429 retry-after 30s")
	waitFor(t, "B applies A's cooldown", func() bool { _, _, ok := recB.until("east"); return ok })
	got, reason, _ := recB.until("east")
	if !got.Equal(until) {
		t.Errorf("B's deadline = %v, want %v", got, until)
	}
	if want := "429 retry-after 30s (seen by another replica)"; reason != want {
		t.Errorf("B's reason = %q, want %q", reason, want)
	}
	if _, _, ok := recA.until("east"); ok {
		t.Error("A applied its own cooldown")
	}

	recC := &recorder{}
	c := New(client, prefix, "C", recC, nil)
	run(t, c)
	waitFor(t, "C loads the running cooldown", func() bool { _, _, ok := recC.until("east"); return ok })

	// A cooldown already over is neither published nor applied.
	a.Publish("west", time.Now().Add(-time.Second), "old")
	a.Publish("north", time.Now().Add(time.Minute), "fresh")
	waitFor(t, "B applies the next cooldown", func() bool { _, _, ok := recB.until("north"); return ok })
	if _, _, ok := recB.until("west"); ok {
		t.Error("B applied a cooldown that was already over")
	}
}

// TestApplyIgnoresGarbage: malformed messages change nothing.
func TestApplyIgnoresGarbage(t *testing.T) {
	rec := &recorder{}
	c := New(nil, "p:", "self", rec, nil)
	future := time.Now().Add(time.Minute).UnixMilli()
	for _, msg := range []string{
		"", "x", "other\x00id\x00notanumber\x00r",
		"self\x00id\x00" + itoa(future) + "\x00mine",
	} {
		c.apply(msg)
	}
	if len(rec.got) != 0 {
		t.Errorf("applied %v from garbage or own messages, want nothing", rec.got)
	}
	c.apply("other\x00id\x00" + itoa(future) + "\x00theirs")
	if _, _, ok := rec.until("id"); !ok {
		t.Error("a well-formed message from another replica was not applied")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
