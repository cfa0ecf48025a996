package store

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Values of UsageQuery.GroupBy.
const (
	GroupByTotal      = ""           // one row for the whole range
	GroupByDay        = "day"        // UTC days, "2026-11-22"
	GroupByHour       = "hour"       // UTC hours, "2026-11-22T13:00Z"
	GroupByModel      = "model"      // the public model name
	GroupByDeployment = "deployment" // the deployment id, "" when none answered
	GroupByKey        = "key"        // the client key's id
	GroupByEvent      = "event"      // the event id, "" for keys of no event
	GroupByTeam       = "team"       // the team id, "" for keys of no team
)

// UsageQuery selects and groups usage records for QueryUsage.
type UsageQuery struct {
	// From and To bound the records' Time: From ≤ Time < To, compared at
	// millisecond precision. A zero From or To leaves that side open.
	From, To time.Time
	// GroupBy is one of the GroupBy constants.
	GroupBy string
	// KeyID, EventID, TeamID and Model keep only the records that match;
	// "" keeps all.
	KeyID, EventID, TeamID, Model string
}

// UsageRow is one group's aggregate.
type UsageRow struct {
	// Group is the day ("2026-11-22"), the hour ("2026-11-22T13:00Z"), or
	// the model, deployment, key, event or team id; "" for the total.
	Group string
	// Requests counts the records; Errors those with status 400 or more
	// (a client that left first, 499, included).
	Requests, Errors int64
	// Token sums.
	PromptTokens, CompletionTokens, TotalTokens int64
	// Cost is the sum in USD.
	Cost float64
	// P50 and P95 are latency percentiles (nearest rank), each the upper
	// bound of the latency bucket it falls in: at most about 5% above the
	// exact value, never below it. Beyond the last bucket (10 min) they
	// report the longest latency of the group.
	P50, P95 time.Duration
}

// usageGroup is how a GroupBy value becomes SQL and back.
type usageGroup struct {
	// expr is the SQL grouping expression; "" for the total.
	expr string
	// label formats a numeric group (day and hour numbers); nil when the
	// expression is a text column.
	label func(n int64) string
}

const (
	msPerHour = int64(time.Hour / time.Millisecond)
	msPerDay  = 24 * msPerHour
)

// usageGroups maps GroupBy values to SQL. Days and hours are integer
// divisions of unix milliseconds, which is UTC on every database.
var usageGroups = map[string]usageGroup{
	GroupByTotal: {},
	GroupByDay: {expr: fmt.Sprintf("time / %d", msPerDay), label: func(n int64) string {
		return time.UnixMilli(n * msPerDay).UTC().Format(time.DateOnly)
	}},
	GroupByHour: {expr: fmt.Sprintf("time / %d", msPerHour), label: func(n int64) string {
		return time.UnixMilli(n * msPerHour).UTC().Format("2006-01-02T15:04Z")
	}},
	GroupByModel:      {expr: "model"},
	GroupByDeployment: {expr: "deployment"},
	GroupByKey:        {expr: "key_id"},
	GroupByEvent:      {expr: "event_id"},
	GroupByTeam:       {expr: "team_id"},
}

func errBadGroup(g string) error {
	return fmt.Errorf("group by %q: want day, hour, model, deployment, key, event, team, or \"\" for one total", g)
}

// ValidUsageGroupBy reports whether QueryUsage accepts g as GroupBy.
func ValidUsageGroupBy(g string) bool {
	_, ok := usageGroups[g]
	return ok
}

// QueryUsage implements Store. One query scans the range once, grouped by
// the group and the latency bucket; the buckets of a group are then summed
// in Go and their counts give the percentiles. Rows come ordered by Group;
// a grouped query over no records returns none, the total query one row
// of zeros.
func (s *sqlStore) QueryUsage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	g, ok := usageGroups[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("store: query usage: %w", errBadGroup(q.GroupBy))
	}
	query, args := s.usageQuery(g, q)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: query usage: %w", err)
	}
	defer rows.Close()

	groups := map[string]*usageAggregate{}
	for rows.Next() {
		var (
			num        int64
			text       string
			b          usageBucket
			bucket     int
			maxLatency int64
		)
		dest := make([]any, 0, 10)
		switch {
		case g.label != nil:
			dest = append(dest, &num)
		case g.expr != "":
			dest = append(dest, &text)
		}
		dest = append(dest, &bucket, &b.requests, &b.errors, &b.prompt, &b.completion, &b.total, &b.cost, &maxLatency)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: query usage: %w", err)
		}
		if g.label != nil {
			text = g.label(num)
		}
		a := groups[text]
		if a == nil {
			a = &usageAggregate{hist: make([]int64, LatencyBuckets)}
			groups[text] = a
		}
		a.add(bucket, b, time.Duration(maxLatency)*time.Microsecond)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: query usage: %w", err)
	}

	if len(groups) == 0 && g.expr == "" {
		return []UsageRow{{}}, nil
	}
	out := make([]UsageRow, 0, len(groups))
	for group, a := range groups {
		out = append(out, a.row(group))
	}
	slices.SortFunc(out, func(a, b UsageRow) int { return strings.Compare(a.Group, b.Group) })
	return out, nil
}

// usageQuery returns the SQL and arguments of q, grouped by g.
func (s *sqlStore) usageQuery(g usageGroup, q UsageQuery) (string, []any) {
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	if g.expr != "" {
		b.WriteString(g.expr + ", ")
	}
	// CAST keeps PostgreSQL's SUM of BIGINT, a NUMERIC, an integer.
	b.WriteString(`latency_bucket, COUNT(*),
		CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT),
		CAST(SUM(total_tokens) AS BIGINT), COALESCE(SUM(cost), 0), MAX(latency_us)
		FROM usage WHERE time >= ? AND time < ?`)
	args := []any{from, to}
	for _, f := range []struct{ column, value string }{
		{"key_id", q.KeyID}, {"event_id", q.EventID}, {"team_id", q.TeamID}, {"model", q.Model},
	} {
		if f.value != "" {
			b.WriteString(" AND " + f.column + " = ?")
			args = append(args, f.value)
		}
	}
	b.WriteString(" GROUP BY ")
	if g.expr != "" {
		b.WriteString(g.expr + ", ")
	}
	b.WriteString("latency_bucket")
	return s.d.rebind(b.String()), args
}

// usageBucket is one (group, latency bucket) row of the query.
type usageBucket struct {
	requests, errors          int64
	prompt, completion, total int64
	cost                      float64
}

// usageAggregate sums a group's buckets.
type usageAggregate struct {
	sum  usageBucket
	hist []int64 // requests per latency bucket
	// overflowMax is the longest latency in the overflow bucket.
	overflowMax time.Duration
}

func (a *usageAggregate) add(bucket int, b usageBucket, maxLatency time.Duration) {
	// Rows written by a future scheme with more buckets would not fit;
	// they count as overflow rather than vanish.
	bucket = min(max(bucket, 0), LatencyBuckets-1)
	if bucket == LatencyBuckets-1 {
		a.overflowMax = max(a.overflowMax, maxLatency)
	}
	a.hist[bucket] += b.requests
	a.sum.requests += b.requests
	a.sum.errors += b.errors
	a.sum.prompt += b.prompt
	a.sum.completion += b.completion
	a.sum.total += b.total
	a.sum.cost += b.cost
}

func (a *usageAggregate) row(group string) UsageRow {
	return UsageRow{
		Group:            group,
		Requests:         a.sum.requests,
		Errors:           a.sum.errors,
		PromptTokens:     a.sum.prompt,
		CompletionTokens: a.sum.completion,
		TotalTokens:      a.sum.total,
		Cost:             a.sum.cost,
		P50:              a.percentile(500),
		P95:              a.percentile(950),
	}
}

// percentile returns the nearest-rank percentile perMille/1000: the
// bound of the bucket holding the ⌈n·p⌉-th smallest latency.
func (a *usageAggregate) percentile(perMille int64) time.Duration {
	n := a.sum.requests
	if n == 0 {
		return 0
	}
	rank := max((n*perMille+999)/1000, 1)
	var seen int64
	for b, count := range a.hist {
		seen += count
		if seen < rank {
			continue
		}
		if bound, ok := LatencyBucketBound(b); ok {
			return bound
		}
		return a.overflowMax
	}
	return a.overflowMax
}
