package store

import (
	"fmt"
	"math"
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
		var cols []string
		for _, c := range []string{"time", "key_id", "event_id", "attendee", "model", "deployment", "endpoint", "status", "attempts", "stream",
			"latency_us", "ttfb_us", "latency_bucket", "prompt_tokens", "completion_tokens", "total_tokens", "estimated", "cost", "end_user",
			"cached_tokens", "reasoning_tokens", "audio_seconds", "team_id", "batch_id"} {
			cols = append(cols, fmt.Sprintf("typeof(%s) || ':' || quote(%[1]s)", c))
		}
		q := "SELECT " + strings.Join(cols, ", ") + " FROM usage WHERE request_id LIKE '%-" + copy + "' ORDER BY request_id"
		rows, err := s.read.QueryContext(t.Context(), q)
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
		return out
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
