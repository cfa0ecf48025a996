package store

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// TestLeanUsageRowsStoreTheSame inserts the same plain records in a chunk
// of lean rows and in a chunk of full ones (one record of it is not
// lean), and reads back every column, with its SQLite type, of both.
func TestLeanUsageRowsStoreTheSame(t *testing.T) {
	st, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "u.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	plain := func(i int, copy string) usage.Record {
		return usage.Record{
			Time: time.Date(2026, 12, 6, 8, 0, i, 1234567, time.UTC), RequestID: fmt.Sprintf("req-%02d-%s", i, copy),
			KeyID: "key-1", Model: "gpt-4o", Deployment: "east\x00", Endpoint: "chat", Status: 200 + i%2*229, Attempts: 1 + i%2,
			Stream: i%3 == 0, Latency: time.Duration(i) * 7 * time.Millisecond, TTFB: time.Duration(i) * time.Millisecond,
			PromptTokens: 10 * i, CompletionTokens: i, TotalTokens: 11 * i, Estimated: i%4 == 0, Cost: float64(i) * 1.1e-6,
		}
	}
	var records []usage.Record
	for i := range usageChunkRows {
		r := plain(i, "lean")
		if i == 5 {
			r.Cost = math.NaN() // stored as NULL
		}
		records = append(records, r)
	}
	for i := range usageChunkRows {
		r := plain(i, "full")
		if i == 5 {
			r.Cost = records[5].Cost
		}
		if i == usageChunkRows-1 {
			r.TeamID = "team-1" // the chunk is not lean
		}
		records = append(records, r)
	}
	if !allLeanUsage(records[:usageChunkRows]) || allLeanUsage(records[usageChunkRows:]) {
		t.Fatal("the test's chunks are not one lean and one full")
	}
	if err := st.InsertUsage(t.Context(), records); err != nil {
		t.Fatal(err)
	}
	read := func(copy string) [][]string {
		// Every column but request_id, which differs between the copies.
		cols := []string{"time", "key_id", "event_id", "attendee", "model", "deployment", "endpoint", "status", "attempts", "stream",
			"latency_us", "ttfb_us", "latency_bucket", "prompt_tokens", "completion_tokens", "total_tokens", "estimated", "cost", "end_user",
			"cached_tokens", "reasoning_tokens", "audio_seconds", "team_id", "batch_id"}
		return typedRows(t, s, cols, "WHERE request_id LIKE '%-"+copy+"' ORDER BY request_id")
	}
	lean, full := read("lean"), read("full")
	if len(lean) != usageChunkRows || len(full) != usageChunkRows {
		t.Fatalf("rows: %d lean, %d full; want %d each", len(lean), len(full), usageChunkRows)
	}
	full[usageChunkRows-1][len(full[0])-2] = lean[usageChunkRows-1][len(lean[0])-2] // the team that made it full
	if diff := cmp.Diff(full, lean); diff != "" {
		t.Errorf("lean rows differ from full ones (-full +lean):\n%s", diff)
	}
}

// plainBatch is n records as the plain path makes them, from request seq.
func plainBatch(n, seq int) []usage.Record {
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	out := make([]usage.Record, n)
	for i := range out {
		out[i] = usage.Record{
			Time: at.Add(time.Duration(seq+i) * time.Millisecond), RequestID: fmt.Sprintf("req-%06d", seq+i),
			KeyID: "static", Model: "gpt-4o", Deployment: fmt.Sprint("dep-", i%3), Endpoint: "chat",
			Status: 200, Attempts: 1, Latency: time.Duration(1000+i) * time.Microsecond,
			PromptTokens: 1000 + i, CompletionTokens: 100, TotalTokens: 1100 + i, Cost: 0.001 * float64(i),
		}
	}
	return out
}

// TestInsertUsageNewWriterConnection: when database/sql replaces the
// writer connection (here: it keeps none idle, so every write opens one),
// the chunk statements are prepared on the new one, every record of
// every batch is stored, and the replaced connections are closed: a
// statement left unfinalized on one keeps it, and its files, open.
func TestInsertUsageNewWriterConnection(t *testing.T) {
	st, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "u.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	s.write.SetMaxIdleConns(0)
	const batch, batches = 3*usageChunkRows + 5, 20
	if err := st.InsertUsage(t.Context(), plainBatch(batch, 0)); err != nil {
		t.Fatal(err)
	}
	before := openFiles(t)
	for i := 1; i < batches; i++ {
		if err := st.InsertUsage(t.Context(), plainBatch(batch, i*batch)); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	// Other tests of the package may run in parallel and open files of
	// their own; a leak is two a batch.
	if got := openFiles(t) - before; got >= batches {
		t.Errorf("open files grew by %d over %d writes on new connections, want the replaced ones closed", got, batches-1)
	}
	var got int
	if err := s.read.QueryRowContext(t.Context(), "SELECT count(DISTINCT request_id) FROM usage").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := batches * batch; got != want {
		t.Errorf("records stored: got %d, want %d", got, want)
	}
}

// TestInsertUsageAllocs pins what a batch of plain records allocates on
// SQLite: its arguments go to the driver in one reused slice, and the
// labels every record repeats are boxed once (rawChunks). Through
// database/sql each chunk converted its arguments into a new slice and
// boxed every label: 12 allocations a record.
func TestInsertUsageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	st, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "u.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const batch = 5000
	seq := 0
	records := plainBatch(batch, seq)
	allocs := testing.AllocsPerRun(5, func() {
		seq += batch
		for i := range records {
			records[i].RequestID = fmt.Sprintf("req-%06d", seq+i)
		}
		if err := st.InsertUsage(t.Context(), records); err != nil {
			t.Fatal(err)
		}
	})
	// The loop's Sprintf is one allocation a record.
	if got, want := allocs/batch-1, 9.0; got > want {
		t.Errorf("allocations a record: got %.1f, want at most %.0f", got, want)
	}
}

// openFiles is how many files the process has open, from /proc.
func openFiles(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(es)
}

// typedRows reads the usage rows tail (a WHERE and ORDER BY) selects, each
// column of cols as SQLite's type and quoted value ("integer:3", "text:'a'",
// "null:NULL"), so that a test compares what is stored, not what a scan
// converts it to.
func typedRows(t *testing.T, s *sqlStore, cols []string, tail string) [][]string {
	t.Helper()
	exprs := make([]string, len(cols))
	for i, c := range cols {
		exprs[i] = fmt.Sprintf("typeof(%s) || ':' || quote(%[1]s)", c)
	}
	rows, err := s.read.QueryContext(t.Context(), "SELECT "+strings.Join(exprs, ", ")+" FROM usage "+tail)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
