package usage_test

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/usage"
)

// TestSpillRoundTrip spills records with every field set and replays
// them: what reaches the store is what was recorded.
func TestSpillRoundTrip(t *testing.T) {
	dir := t.TempDir()
	full := usage.Record{
		Time: time.Date(2026, 11, 22, 13, 14, 15, 123456789, time.UTC), RequestID: "req-1",
		KeyID: "key-1", EventID: "event-1", Attendee: "ada@example.com", Model: "gpt-4o",
		Deployment: "eastus", Endpoint: "chat", Status: 429, Attempts: 3, Stream: true,
		Latency: 1234567 * time.Microsecond, TTFB: 89 * time.Millisecond,
		PromptTokens: 11, CompletionTokens: 22, TotalTokens: 33, CachedTokens: 4, ReasoningTokens: 7, AudioSeconds: 9.5, Estimated: true,
		TeamID: "team-a", BatchID: "batch_1",
		Cost: 0.000123, User: "nul\x00 and ünïcode",
		Prompt: `{"messages":[{"role":"user","content":"hi\n"}]}`, Response: "hello\nthere",
	}
	// Every field set, so a field the spill file forgets fails the diff.
	for v, i := reflect.ValueOf(full), 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Fatalf("test record leaves Record.%s unset", v.Type().Field(i).Name)
		}
	}
	nan := full
	nan.RequestID, nan.Cost = "req-nan", math.NaN()
	in := []usage.Record{full, nan, {RequestID: "req-empty"}}

	first := usage.NewWriter(&captureSink{}, usage.WriterOptions{SpillDir: dir, Logger: testLogger(t)})
	closeWriter(t, first, time.Second) // so Record spills
	for _, r := range in {
		first.Record(r)
	}
	sink := &captureSink{}
	second := usage.NewWriter(sink, usage.WriterOptions{SpillDir: dir, Logger: testLogger(t)})
	run(t, second)
	eventually(t, "the records replayed", func() bool { return len(sink.all()) == len(in) })
	closeWriter(t, second, time.Second)
	if diff := cmp.Diff(in, sink.all(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("replayed records (-recorded +replayed):\n%s", diff)
	}
}

// TestSpillDamagedFile replays a spill file with a line that is not JSON
// and a last line a crash cut short: the good lines are written, the bad
// ones counted as dropped, and new records start a line of their own.
func TestSpillDamagedFile(t *testing.T) {
	dir := t.TempDir()
	damaged := `{"time":"2026-11-22T12:00:00Z","request_id":"a","status":200}
not json
{"time":"2026-11-22T12:00:01Z","request_id":"b","status":200}
{"time":"2026-11-22T12:00:02Z","req`
	if err := os.WriteFile(filepath.Join(dir, usage.SpillFile), []byte(damaged), 0o600); err != nil {
		t.Fatal(err)
	}
	sink := &captureSink{}
	w := usage.NewWriter(sink, usage.WriterOptions{QueueSize: 1, FlushInterval: time.Millisecond, SpillDir: dir, Logger: testLogger(t)})
	w.Record(usage.Record{RequestID: "queued"})
	w.Record(usage.Record{RequestID: "spilled"}) // the queue is full
	run(t, w)
	eventually(t, "the file replayed", func() bool { return len(sink.all()) == 4 })
	closeWriter(t, w, time.Second)

	got := ids(sink.all())
	slices.Sort(got)
	if diff := cmp.Diff([]string{"a", "b", "queued", "spilled"}, got); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	if got := w.Stats(); got.Dropped != 2 || got.Spilled != 1 {
		t.Errorf("Stats = %+v, want 2 dropped (the bad lines), 1 spilled", got)
	}
	assertNoSpill(t, dir)
}

// TestSpillMaxBytes: past MaxSpillBytes records are dropped and counted,
// never silently lost.
func TestSpillMaxBytes(t *testing.T) {
	dir := t.TempDir()
	w := usage.NewWriter(&captureSink{}, usage.WriterOptions{QueueSize: 1, SpillDir: dir, MaxSpillBytes: 400, Logger: testLogger(t)})
	rs := records("max", 20)
	for _, r := range rs {
		w.Record(r)
	}
	got := w.Stats()
	if got.Spilled == 0 || got.Dropped == 0 || got.Queued+got.Spilled+got.Dropped != int64(len(rs)) {
		t.Errorf("Stats = %+v, want some spilled, the rest dropped, %d in all", got, len(rs))
	}
	fi, err := os.Stat(filepath.Join(dir, usage.SpillFile))
	if err != nil || fi.Size() > 400 {
		t.Errorf("spill file: %v, %v; want at most 400 bytes", fi.Size(), err)
	}
	if n := spillLines(t, dir); int64(n) != got.Spilled {
		t.Errorf("spill file holds %d records, Stats.Spilled = %d", n, got.Spilled)
	}
	closeWriter(t, w, time.Second)
}
