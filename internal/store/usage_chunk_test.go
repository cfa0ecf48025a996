package store

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/spillwayhq/spillway/internal/usage"
)

// shapedChunks are chunks of usageChunkRows records in which each
// shareable field is the same in every record of a chunk or differs
// between them, in a different pattern each chunk: more shapes than
// maxChunkShapes, lean chunks and full ones, and labels that differ only
// in what text() removes.
func shapedChunks(chunks int) []usage.Record {
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	var out []usage.Record
	for c := range chunks {
		same := func(bit int) bool { return (c*2654435761>>bit)&1 == 1 }
		pick := func(bit int, i int, vals ...string) string {
			if same(bit) {
				return vals[0]
			}
			return vals[i%len(vals)]
		}
		num := func(bit int, i int, vals ...int) int {
			if same(bit) {
				return vals[0]
			}
			return vals[i%len(vals)]
		}
		full := c%3 == 0
		for i := range usageChunkRows {
			r := usage.Record{
				Time: at.Add(time.Duration(len(out)) * time.Millisecond), RequestID: fmt.Sprintf("req-%04d", len(out)),
				KeyID: pick(1, i, "key-1", "key-1\x00", "key-2"), Model: pick(2, i, "gpt-4o", "gpt-4o-mini"),
				Deployment: pick(3, i, "east", "west", "north"), Endpoint: pick(4, i, "chat", "embeddings"),
				Status: num(5, i, 200, 429), Attempts: num(6, i, 1, 2), Stream: same(7) || i%2 == 0, Estimated: !same(8) && i%3 == 0,
				Latency: time.Duration(1000+37*i) * time.Microsecond, TTFB: time.Duration(100+i) * time.Microsecond,
				PromptTokens: 1000 + i, CompletionTokens: 100, TotalTokens: 1100 + i, Cost: 0.001 * float64(i),
			}
			if full {
				r.EventID, r.Attendee = pick(9, i, "event-1", "event-2"), pick(10, i, "ann", "bob")
				r.User, r.TeamID, r.BatchID = pick(11, i, "u1", "u2"), pick(12, i, "team-1", "team-2"), pick(13, i, "", "batch-1")
				r.CachedTokens, r.ReasoningTokens, r.AudioSeconds = num(14, i, 0, 10), num(15, i, 5, 0), float64(i%2)
			}
			out = append(out, r)
		}
	}
	return out
}

// TestChunkShapesStoreTheSame inserts chunks of many shapes in one batch,
// and the same records one by one (each its own statement, binding
// every column), and reads back every column, with its SQLite type.
func TestChunkShapesStoreTheSame(t *testing.T) {
	records := shapedChunks(3 * maxChunkShapes)
	shapes := map[chunkShape]bool{}
	var c rawChunks
	for chunk := records; len(chunk) >= usageChunkRows; chunk = chunk[usageChunkRows:] {
		shape := chunkShape{lean: allLeanUsage(chunk[:usageChunkRows])}
		var vals []any
		width := usageColumnCount
		for i := range usageChunkRows {
			if shape.lean {
				vals, width = c.appendLean(vals, &chunk[i]), usageLeanColumnCount
			} else {
				vals = c.appendFull(vals, &chunk[i])
			}
		}
		_, mask := shape.columns()
		shape.shared = sharedColumns(vals, width, mask)
		shapes[shape] = true
	}
	if len(shapes) <= maxChunkShapes {
		t.Fatalf("the test's chunks have %d shapes, want more than maxChunkShapes (%d)", len(shapes), maxChunkShapes)
	}
	read := func(records []usage.Record, oneByOne bool) [][]string {
		st, err := Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "u.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if oneByOne {
			for i := range records {
				if err := st.InsertUsage(t.Context(), records[i:i+1]); err != nil {
					t.Fatal(err)
				}
			}
		} else if err := st.InsertUsage(t.Context(), records); err != nil {
			t.Fatal(err)
		}
		return typedRows(t, st.(*sqlStore), usageColumnNames, "ORDER BY rowid")
	}
	got, want := read(records, false), read(records, true)
	if len(got) != len(records) {
		t.Fatalf("rows stored: got %d, want %d", len(got), len(records))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunked rows differ from rows inserted one by one (-one by one +chunked):\n%s", diff)
	}
}

func TestChunkShapeSQL(t *testing.T) {
	for _, tc := range []struct {
		shape chunkShape
		want  string
	}{
		{chunkShape{lean: true}, "INSERT INTO usage (" + strings.Join(usageLeanColumnNames, ", ") + ") VALUES (" +
			strings.Repeat("?, ", usageLeanColumnCount-1) + "?), (" + strings.Repeat("?, ", usageLeanColumnCount-1) + "?)"},
		// key_id (2) and endpoint (5) shared.
		{chunkShape{lean: true, shared: 1<<2 | 1<<5}, "INSERT INTO usage (key_id, endpoint, time, request_id, model, deployment, " +
			"status, attempts, stream, latency_us, ttfb_us, latency_bucket, prompt_tokens, completion_tokens, total_tokens, estimated, cost) VALUES " +
			"(?1, ?2, " + strings.Repeat("?, ", usageLeanColumnCount-3) + "?), (?1, ?2, " + strings.Repeat("?, ", usageLeanColumnCount-3) + "?)"},
	} {
		if got := tc.shape.sql(2); got != tc.want {
			t.Errorf("%+v: sql(2) =\n%s\nwant\n%s", tc.shape, got, tc.want)
		}
	}
}
