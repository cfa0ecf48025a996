package limits_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/limits"
)

// TestRedisTakeBatch: the TakeAll calls of one batch, sent as one script,
// get the answers they would get one after the other: checked against a
// Memory limiter taking them in order, for batches that all fit (the
// script's first case) and batches where some do not (call by call).
func TestRedisTakeBatch(t *testing.T) {
	at := time.Date(2026, 12, 6, 11, 0, 15, 0, time.UTC)
	now := func() time.Time { return at }
	l := func(key string, limit, cost int64) limits.Limit {
		return limits.Limit{Key: key, Limit: limit, Window: time.Minute, Cost: cost}
	}
	tests := []struct {
		name  string
		calls [][]limits.Limit
	}{
		{"one call that fits", [][]limits.Limit{{l("rpm", 5, 1), l("tpm", 100, 40)}}},
		{"one call that does not", [][]limits.Limit{{l("rpm", 5, 1), l("tpm", 100, 101-1)}, {l("tpm", 100, 1)}}},
		{"all fit, sharing counters", [][]limits.Limit{
			{l("rpm", 5, 1), l("tpm", 100, 40), l("dep", 1000, 40)},
			{l("rpm", 5, 1), l("tpm", 100, 30), l("dep", 1000, 30)},
			{l("other", 5, 1), l("dep", 1000, 30)},
		}},
		{"the second does not fit, the third does", [][]limits.Limit{
			{l("rpm", 5, 1), l("tpm", 100, 60)},
			{l("rpm", 5, 1), l("tpm", 100, 50)},
			{l("rpm", 5, 1), l("tpm", 100, 40)},
		}},
		{"the rpm runs out mid-batch", [][]limits.Limit{
			{l("rpm", 2, 1)}, {l("rpm", 2, 1)}, {l("rpm", 2, 1), l("tpm", 10, 1)}, {l("tpm", 10, 1)},
		}},
		{"a counter given two limits", [][]limits.Limit{
			{l("rpm", 3, 1)}, {l("rpm", 1, 1)}, {l("rpm", 3, 1)},
		}},
		{"costs of zero only read", [][]limits.Limit{
			{l("rpm", 3, 0)}, {l("rpm", 3, 3)}, {l("rpm", 3, 0)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, prefix := testRedis(t)
			checkBatch(t, limits.NewRedis(client, prefix, now), limits.NewMemory(now), tt.calls)
		})
	}

	// And many batches drawn at random over a few counters, near their
	// limits, the counts carried from batch to batch.
	client, prefix := testRedis(t)
	r, m := limits.NewRedis(client, prefix, now), limits.NewMemory(now)
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c", "d"}
	for range 200 {
		calls := make([][]limits.Limit, 1+rng.IntN(8))
		for i := range calls {
			for _, k := range rng.Perm(len(names))[:1+rng.IntN(len(names))] {
				calls[i] = append(calls[i], l(names[k], 50+int64(k), rng.Int64N(8)))
			}
		}
		checkBatch(t, r, m, calls)
		if t.Failed() {
			break
		}
	}
}

// checkBatch sends calls to r as one batch and to m one by one, and
// compares their decisions.
func checkBatch(t *testing.T, r *limits.Redis, m *limits.Memory, calls [][]limits.Limit) {
	t.Helper()
	got, want := make([][]limits.Decision, len(calls)), make([][]limits.Decision, len(calls))
	for i, ls := range calls {
		got[i], want[i] = make([]limits.Decision, len(ls)), make([]limits.Decision, len(ls))
		if err := m.TakeAll(context.Background(), ls, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := limits.TakeBatch(context.Background(), r, calls, got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch %v: decisions (-one by one +batched):\n%s", fmt.Sprint(calls), diff)
	}
}

// BenchmarkRedisTakeBatch sends a batch of ten governed requests' takes
// (a key's rpm and tpm, a deployment's tpm: three counters they share) as
// one script call, as Run does under load, and reports beside the
// gateway's time and allocations what Redis spent running the script
// (INFO commandstats, usec per call of EVALSHA).
func BenchmarkRedisTakeBatch(b *testing.B) {
	client, prefix := testRedis(b)
	r := limits.NewRedis(client, prefix, nil)
	calls, outs := make([][]limits.Limit, 10), make([][]limits.Decision, 10)
	for i := range calls {
		calls[i] = []limits.Limit{
			{Key: "key:rpm", Limit: 1 << 40, Window: time.Minute, Cost: 1},
			{Key: "key:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
			{Key: "dep:tpm", Limit: 1 << 50, Window: time.Minute, Cost: 500},
		}
		outs[i] = make([]limits.Decision, 3)
	}
	ctx := context.Background()
	if err := limits.TakeBatch(ctx, r, calls, outs); err != nil { // the script cached
		b.Fatal(err)
	}
	usec := func() float64 {
		info, err := client.Info(ctx, "commandstats").Result()
		if err != nil {
			b.Fatal(err)
		}
		return commandUsec(info, "evalsha")
	}
	before := usec()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := limits.TakeBatch(ctx, r, calls, outs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((usec()-before)/float64(b.N), "redis-µs/batch")
}

// commandUsec returns the usec total of command in an INFO commandstats
// reply ("cmdstat_evalsha:calls=3,usec=95,...").
func commandUsec(info, command string) float64 {
	for line := range strings.Lines(info) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+command+":")
		if !ok {
			continue
		}
		for f := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(f, "usec="); ok {
				n, _ := strconv.ParseFloat(v, 64)
				return n
			}
		}
	}
	return 0
}
