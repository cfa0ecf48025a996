package bench_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/bench"
	"github.com/spillwayhq/spillway/internal/store"
)

// TestUsageBench runs the usage benchmark small on SQLite: every query
// answers the same from rollups as from raw records, and counts every
// record of its range.
func TestUsageBench(t *testing.T) {
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "u.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o := bench.UsageOptions{Records: 5000, Days: 31, Batch: 700}
	if _, err := bench.SeedUsage(t.Context(), st, o); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 12, 1, 0, 37, 0, 0, time.UTC)
	timings, err := bench.TimeUsageQueries(t.Context(), st, end, 1, o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(timings), len(bench.UsageQueries(end, o)); got != want {
		t.Fatalf("%d timings, want %d", got, want)
	}
	for _, tm := range timings {
		if !tm.Match {
			t.Errorf("%s: rollups and raw records answer differently", tm.Name)
		}
		if tm.Requests == 0 {
			t.Errorf("%s: counted no records", tm.Name)
		}
	}
	// 30 of the 31 days are in range, less the 37 minutes cut at the start.
	if total := timings[0]; total.Requests < 4800 || total.Requests > 4850 {
		t.Errorf("30d total counted %d of 5000 records over 31 days, want about 4838", total.Requests)
	}
	var out bytes.Buffer
	if err := bench.WriteUsageTimings(&out, timings); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "30d by key") || !strings.Contains(out.String(), "same answer") {
		t.Errorf("table:\n%s", out.String())
	}
}
