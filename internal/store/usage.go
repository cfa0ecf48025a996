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
	GroupByTeam       = "team"       // the key's team id, "" for keys of no team
)

// UsageQuery selects and groups usage records for QueryUsage.
type UsageQuery struct {
	// From and To bound the records' Time: From ≤ Time < To, compared at
	// millisecond precision. A zero From or To leaves that side open.
	From, To time.Time
	// GroupBy is one of the GroupBy constants.
	GroupBy string
	// KeyID, TeamID, EventID and Model keep only the records that match;
	// "" keeps all.
	KeyID, TeamID, EventID, Model string
}

// UsageRow is one group's aggregate.
type UsageRow struct {
	// Group is the day ("2026-11-22"), the hour ("2026-11-22T13:00Z"), or
	// the model, deployment, key or event id; "" for the total.
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
	// rollupExpr is expr over usage_rollups; dim the rollup dimension the
	// group needs (0 for times and the total).
	rollupExpr string
	dim        uint8
	// hourly reports whether the group needs hourly rows.
	hourly bool
	// unit is the length of a time group (day or hour) in ms: the
	// group of time t is t / unit. 0 for the others.
	unit int64
}

const (
	msPerHour = int64(time.Hour / time.Millisecond)
	msPerDay  = 24 * msPerHour
)

// usageGroups maps GroupBy values to SQL. Days and hours are integer
// divisions of unix milliseconds, which is UTC on every database.
var usageGroups = map[string]usageGroup{
	GroupByTotal: {},
	GroupByDay: {
		expr: fmt.Sprintf("time / %d", msPerDay), rollupExpr: fmt.Sprintf("period / %d", msPerDay),
		label: func(n int64) string { return time.UnixMilli(n * msPerDay).UTC().Format(time.DateOnly) },
		unit:  msPerDay,
	},
	GroupByHour: {
		expr: fmt.Sprintf("time / %d", msPerHour), rollupExpr: fmt.Sprintf("period / %d", msPerHour),
		label:  func(n int64) string { return time.UnixMilli(n * msPerHour).UTC().Format("2006-01-02T15:04Z") },
		hourly: true, unit: msPerHour,
	},
	GroupByModel:      {expr: "model", rollupExpr: "model", dim: dimModel},
	GroupByDeployment: {expr: "deployment", rollupExpr: "deployment", dim: dimDeployment},
	GroupByKey:        {expr: "key_id", rollupExpr: "key_id", dim: dimKey},
	GroupByEvent:      {expr: "event_id", rollupExpr: "event_id", dim: dimEvent},
	GroupByTeam:       {expr: "team_id", rollupExpr: "team_id", dim: dimTeam},
}

func errBadGroup(g string) error {
	return fmt.Errorf("group by %q: want day, hour, model, deployment, key, team, event, or \"\" for one total", g)
}

// ValidUsageGroupBy reports whether QueryUsage accepts g as GroupBy.
func ValidUsageGroupBy(g string) bool {
	_, ok := usageGroups[g]
	return ok
}

// QueryUsage implements Store. It answers from the rollups (see
// usage_rollup_read.go): whole days from daily rows, whole hours from
// hourly ones, and only the partial hours at the range's ends from raw
// records, grouped by the group and the latency bucket. Rows come ordered
// by Group; a grouped query over no records returns none, the total query
// one row of zeros.
func (s *sqlStore) QueryUsage(ctx context.Context, q UsageQuery) ([]UsageRow, error) {
	g, ok := usageGroups[q.GroupBy]
	if !ok {
		return nil, fmt.Errorf("store: query usage: %w", errBadGroup(q.GroupBy))
	}
	groups := map[string]*usageAggregate{}
	if err := s.queryUsageInto(ctx, groups, g, q); err != nil {
		return nil, fmt.Errorf("store: query usage: %w", err)
	}
	return usageRows(groups, g), nil
}

// usageRows returns the rows of groups in Group order: one of zeros for
// a total over no records.
func usageRows(groups map[string]*usageAggregate, g usageGroup) []UsageRow {
	if len(groups) == 0 && g.expr == "" {
		return []UsageRow{{}}
	}
	out := make([]UsageRow, 0, len(groups))
	for group, a := range groups {
		out = append(out, a.row(group))
	}
	slices.SortFunc(out, func(a, b UsageRow) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// usageRange returns q's bounds in unix milliseconds, open sides as the
// extreme values.
func usageRange(q UsageQuery) (from, to int64) {
	from, to = math.MinInt64, math.MaxInt64
	if !q.From.IsZero() {
		from = q.From.UnixMilli()
	}
	if !q.To.IsZero() {
		to = q.To.UnixMilli()
	}
	return from, to
}

// scanRaw adds the raw records of table in [from, to) to groups.
func (s *sqlStore) scanRaw(ctx context.Context, groups map[string]*usageAggregate, g usageGroup, q UsageQuery, table string, from, to int64) error {
	query, args := s.usageQuery(g, q, table, from, to)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
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
			return err
		}
		if g.label != nil {
			text = g.label(num)
		}
		aggregateOf(groups, text).add(bucket, b, time.Duration(maxLatency)*time.Microsecond)
	}
	return rows.Err()
}

// aggregateOf returns group's aggregate, adding it when new.
func aggregateOf(groups map[string]*usageAggregate, group string) *usageAggregate {
	a := groups[group]
	if a == nil {
		a = &usageAggregate{hist: make([]int64, LatencyBuckets)}
		groups[group] = a
	}
	return a
}

// usageQuery returns the SQL and arguments of q over table's raw records
// in [from, to), grouped by g and the latency bucket.
func (s *sqlStore) usageQuery(g usageGroup, q UsageQuery, table string, from, to int64) (string, []any) {
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
		FROM ` + table + ` WHERE time >= ? AND time < ?`)
	args := []any{from, to}
	for _, f := range usageFilters(q) {
		b.WriteString(" AND " + f.column + " = ?")
		args = append(args, f.value)
	}
	b.WriteString(" GROUP BY ")
	if g.expr != "" {
		b.WriteString(g.expr + ", ")
	}
	b.WriteString("latency_bucket")
	return s.d.rebind(b.String()), args
}

// usageFilter is one equality filter of a UsageQuery.
type usageFilter struct {
	column, value string
	dim           uint8
}

// usageFilters returns q's filters that are set.
func usageFilters(q UsageQuery) []usageFilter {
	var out []usageFilter
	for _, f := range []usageFilter{
		{"key_id", q.KeyID, dimKey}, {"team_id", q.TeamID, dimTeam},
		{"event_id", q.EventID, dimEvent}, {"model", q.Model, dimModel},
	} {
		if f.value != "" {
			out = append(out, f)
		}
	}
	return out
}

// usageBucket is one (group, latency bucket) row of the query.
type usageBucket struct {
	requests, errors          int64
	prompt, completion, total int64
	cost                      float64
}

// neg returns b with every sum negated.
func (b usageBucket) neg() usageBucket {
	return usageBucket{-b.requests, -b.errors, -b.prompt, -b.completion, -b.total, -b.cost}
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
	a.addSums(b)
}

// merge adds the aggregate b to a.
func (a *usageAggregate) merge(b *usageAggregate) {
	for i, n := range b.hist {
		a.hist[i] += n
	}
	a.overflowMax = max(a.overflowMax, b.overflowMax)
	a.addSums(b.sum)
}

// addSums adds b's sums, not its latencies, to a.
func (a *usageAggregate) addSums(b usageBucket) {
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
