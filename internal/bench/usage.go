package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// UsageOptions shapes the records of a usage benchmark: what a platform
// team's gateway writes in Days days.
type UsageOptions struct {
	// Records is how many records to write. Default 1,000,000.
	Records int
	// Days they spread over, evenly and in time order, ending at End.
	// Default 30.
	Days int
	// End is when the last record is. Default 2026-12-01 00:37 UTC (not
	// on an hour, as a dashboard's "now" is not).
	End time.Time
	// Keys, Models and Deployments are how many of each; a deployment
	// serves one model. Defaults 500, 4, 12.
	Keys, Models, Deployments int
	// Batch is the records per InsertUsage. Default 10,000.
	Batch int
	// Progress, when set, gets a line every tenth of the records.
	Progress io.Writer
}

func (o *UsageOptions) defaults() {
	setInt := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	setInt(&o.Records, 1_000_000)
	setInt(&o.Days, 30)
	setInt(&o.Keys, 500)
	setInt(&o.Models, 4)
	setInt(&o.Deployments, 12)
	setInt(&o.Batch, 10_000)
	if o.End.IsZero() {
		o.End = time.Date(2026, 12, 1, 0, 37, 0, 0, time.UTC)
	}
}

// SeedUsage writes o.Records generated records through st.InsertUsage,
// the gateway's own insert path (raw records and rollups in one
// transaction per batch), and returns how long that took.
func SeedUsage(ctx context.Context, st store.Store, o UsageOptions) (time.Duration, error) {
	o.defaults()
	rnd := rand.New(rand.NewPCG(11, 12))
	start := o.End.Add(-time.Duration(o.Days) * 24 * time.Hour)
	step := o.End.Sub(start) / time.Duration(o.Records)
	batch := make([]usage.Record, 0, o.Batch)
	began := time.Now()
	for i := range o.Records {
		batch = append(batch, usageRecord(rnd, i, start.Add(time.Duration(i)*step), o))
		if len(batch) == o.Batch || i == o.Records-1 {
			if err := st.InsertUsage(ctx, batch); err != nil {
				return time.Since(began), err
			}
			batch = batch[:0]
		}
		if o.Progress != nil && (i+1)%max(o.Records/10, 1) == 0 {
			took := time.Since(began)
			fmt.Fprintf(o.Progress, "inserted %d records in %v (%.0f records/s)\n", i+1, took.Round(time.Second), float64(i+1)/took.Seconds())
		}
	}
	return time.Since(began), nil
}

// usageRecord is record i, at t: 2% throttled, 0.5% upstream errors,
// log-normal latencies around 800 ms, a tenth of the keys in events and
// every key in one of 25 teams.
func usageRecord(rnd *rand.Rand, i int, t time.Time, o UsageOptions) usage.Record {
	key := rnd.IntN(o.Keys)
	dep := rnd.IntN(o.Deployments)
	status := 200
	switch n := rnd.IntN(1000); {
	case n < 20:
		status = 429
	case n < 25:
		status = 500
	}
	prompt, completion := rnd.IntN(4000), rnd.IntN(800)
	latency := time.Duration(math.Exp(rnd.NormFloat64()*0.8+math.Log(800)) * float64(time.Millisecond))
	event := ""
	if key < o.Keys/10 {
		event = fmt.Sprintf("event-%d", key%5)
	}
	return usage.Record{
		Time:             t,
		RequestID:        fmt.Sprintf("req-%010d", i),
		KeyID:            fmt.Sprintf("key-%04d", key),
		TeamID:           fmt.Sprintf("team-%02d", key%25),
		EventID:          event,
		Model:            fmt.Sprintf("model-%d", dep%o.Models),
		Deployment:       fmt.Sprintf("deployment-%02d", dep),
		Endpoint:         "chat",
		Status:           status,
		Attempts:         1,
		Stream:           rnd.IntN(2) == 0,
		Latency:          latency,
		TTFB:             latency / 4,
		PromptTokens:     prompt,
		CompletionTokens: completion,
		TotalTokens:      prompt + completion,
		CachedTokens:     prompt / 4,
		Cost:             float64(prompt)*2.5e-6 + float64(completion)*1e-5,
	}
}

// UsageQueryTiming is one dashboard query answered from rollups and by
// scanning raw records.
type UsageQueryTiming struct {
	Name string
	// Rollups is the median of the runs of QueryUsage; Raw one scan.
	Rollups, Raw time.Duration
	// Rows is how many rows the answer has; Requests the records counted.
	Rows     int
	Requests int64
	// Match reports whether both answers have the same groups, counts and
	// tokens (costs to 1e-6 relative).
	Match bool
}

// UsageQueries are the dashboard's queries over the 30 days before end:
// what the portal, event reports and budgets ask.
func UsageQueries(end time.Time, o UsageOptions) []struct {
	Name string
	Q    store.UsageQuery
} {
	o.defaults()
	from := end.Add(-30 * 24 * time.Hour)
	q := func(g string) store.UsageQuery { return store.UsageQuery{From: from, To: end, GroupBy: g} }
	oneModel, oneKey, oneEvent, oneTeam := q(store.GroupByDeployment), q(store.GroupByTotal), q(store.GroupByKey), q(store.GroupByTotal)
	oneModel.Model, oneKey.KeyID, oneEvent.EventID, oneTeam.TeamID = "model-1", "key-0007", "event-1", "team-03"
	return []struct {
		Name string
		Q    store.UsageQuery
	}{
		{"30d total", q(store.GroupByTotal)},
		{"30d by day", q(store.GroupByDay)},
		{"30d by hour", q(store.GroupByHour)},
		{"30d by model", q(store.GroupByModel)},
		{"30d by key", q(store.GroupByKey)},
		{"30d by team", q(store.GroupByTeam)},
		{"30d one model by deployment", oneModel},
		{"30d one key (budget)", oneKey},
		{"30d one team (budget)", oneTeam},
		{"30d one event by key (report)", oneEvent},
	}
}

// TimeUsageQueries runs every UsageQueries query runs times from rollups
// and once by scanning raw records.
func TimeUsageQueries(ctx context.Context, st store.Store, end time.Time, runs int, o UsageOptions) ([]UsageQueryTiming, error) {
	return timeUsageQueries(ctx, st, end, runs, o, true)
}

// TimeUsageRollups is TimeUsageQueries without the raw scans: Raw stays
// zero and Match false.
func TimeUsageRollups(ctx context.Context, st store.Store, end time.Time, runs int, o UsageOptions) ([]UsageQueryTiming, error) {
	return timeUsageQueries(ctx, st, end, runs, o, false)
}

func timeUsageQueries(ctx context.Context, st store.Store, end time.Time, runs int, o UsageOptions, scan bool) ([]UsageQueryTiming, error) {
	var out []UsageQueryTiming
	for _, uq := range UsageQueries(end, o) {
		var (
			times []time.Duration
			rows  []store.UsageRow
		)
		for range max(runs, 1) {
			began := time.Now()
			r, err := st.QueryUsage(ctx, uq.Q)
			if err != nil {
				return out, fmt.Errorf("%s: %w", uq.Name, err)
			}
			times = append(times, time.Since(began))
			rows = r
		}
		slices.Sort(times)
		t := UsageQueryTiming{Name: uq.Name, Rollups: times[len(times)/2], Rows: len(rows)}
		if scan {
			began := time.Now()
			raw, err := store.ScanUsageRaw(ctx, st, uq.Q)
			if err != nil {
				return out, fmt.Errorf("%s, raw: %w", uq.Name, err)
			}
			t.Raw, t.Match = time.Since(began), sameUsage(rows, raw)
		}
		for _, r := range rows {
			t.Requests += r.Requests
		}
		out = append(out, t)
	}
	return out, nil
}

// sameUsage compares two answers' groups, counts, tokens and costs.
func sameUsage(a, b []store.UsageRow) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Group != y.Group || x.Requests != y.Requests || x.Errors != y.Errors ||
			x.PromptTokens != y.PromptTokens || x.CompletionTokens != y.CompletionTokens ||
			x.TotalTokens != y.TotalTokens || x.P50 != y.P50 || x.P95 != y.P95 ||
			math.Abs(x.Cost-y.Cost) > 1e-6*math.Max(1, math.Abs(y.Cost)) {
			return false
		}
	}
	return true
}

// WriteUsageTimings prints timings as a table.
func WriteUsageTimings(w io.Writer, timings []UsageQueryTiming) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\trollups\traw scan\trows\trecords\tsame answer\t")
	for _, t := range timings {
		raw, same := t.Raw.Round(time.Millisecond).String(), fmt.Sprint(t.Match)
		if t.Raw == 0 { // not scanned (TimeUsageRollups)
			raw, same = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%d\t%d\t%s\t\n", t.Name, t.Rollups.Round(10*time.Microsecond), raw, t.Rows, t.Requests, same)
	}
	return tw.Flush()
}
