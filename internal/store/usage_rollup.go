package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spillwayhq/spillway/internal/usage"
)

// Rollup dimensions: a cube is the set of them a rollup row keeps.
const (
	dimKey = 1 << iota
	dimTeam
	dimEvent
	dimModel
	dimDeployment
	dimEndpoint
	dimStatus
)

// The cubes kept. Each record adds to one row of every cube of every
// span: more cubes make reads cheaper and writes dearer.
const (
	// cubeTotal answers totals, days and hours.
	cubeTotal = 0
	// cubeOps answers models and deployments, and their errors.
	cubeOps = dimModel | dimDeployment | dimEndpoint | dimStatus
	// cubeTeam answers teams (team budgets, chargeback by team).
	cubeTeam = dimTeam
	// cubeAccount answers keys and events (key budgets, event reports).
	cubeAccount = dimKey | dimTeam | dimEvent
	// cubeCharge answers keys, teams and events by model.
	cubeCharge = dimKey | dimTeam | dimEvent | dimModel
)

// rollupSpans are the periods rollups are kept for, shortest first, and
// their cubes. No cube has every dimension: per hour it would be about as
// many rows as records, and per day it would double the rows every batch
// upserts. A query that needs a key's dimension and a deployment's or an
// endpoint's together reads raw records (see queryUsageInto).
var rollupSpans = []struct {
	ms    int64
	cubes []uint8
}{
	// Keys by model per hour would be the most rows of every batch, for
	// the rarest question: only days keep them.
	{msPerHour, []uint8{cubeTotal, cubeOps, cubeTeam, cubeAccount}},
	{msPerDay, []uint8{cubeTotal, cubeOps, cubeTeam, cubeAccount, cubeCharge}},
}

// rollupKey is a rollup row's primary key.
type rollupKey struct {
	span, period                                  int64
	cube                                          uint8
	class                                         int16
	key, team, event, model, deployment, endpoint string
}

// rollupSums is a rollup row's values.
// rollupLabels are what decides a record's rollup rows: its labels as
// recorded (text() of each is a function of it) and its hour, which
// decides its day too: every span is a whole number of hours.
type rollupLabels struct {
	hour                                          int64
	class                                         int16
	key, team, event, model, deployment, endpoint string
}

// rollupRowsPerRecord is how many rollup rows each record adds to.
var rollupRowsPerRecord = func() (n int) {
	for _, sp := range rollupSpans {
		n += len(sp.cubes)
	}
	return n
}()

type rollupSums struct {
	requests, errors, estimated                  int64
	prompt, completion, total, cached, reasoning int64
	audio, cost                                  float64
	maxLatency                                   int64
	hist                                         []histCount
}

func (s *rollupSums) add(r *usage.Record, bucket int) {
	s.addCounts(r, bucket)
	s.addFloats(r)
}

// addCounts adds r's counts, tokens, latency and histogram bucket: the
// sums that come out the same in any order of additions.
func (s *rollupSums) addCounts(r *usage.Record, bucket int) {
	s.requests++
	if r.Status >= 400 {
		s.errors++
	}
	if r.Estimated {
		s.estimated++
	}
	s.prompt += int64(r.PromptTokens)
	s.completion += int64(r.CompletionTokens)
	s.total += int64(r.TotalTokens)
	s.cached += int64(r.CachedTokens)
	s.reasoning += int64(r.ReasoningTokens)
	s.maxLatency = max(s.maxLatency, micros(r.Latency))
	s.hist = histAddOne(s.hist, bucket)
}

// addFloats adds r's audio seconds and cost, whose rounding depends on
// the order of additions: every row adds them record by record.
func (s *rollupSums) addFloats(r *usage.Record) {
	s.audio += finite(r.AudioSeconds)
	if !math.IsNaN(r.Cost) && !math.IsInf(r.Cost, 0) {
		s.cost += r.Cost
	}
}

// mergeCounts adds v's addCounts sums to s.
func (s *rollupSums) mergeCounts(v *rollupSums) {
	s.addInts(v)
	s.hist = histMerge(s.hist, v.hist)
}

// merge adds v's counts to s; their histograms are merged by the caller,
// who holds them in whichever form it read.
func (s *rollupSums) merge(v *rollupSums) {
	s.addInts(v)
	s.audio += v.audio
	s.cost += v.cost
}

// addInts adds v's integer sums and longest latency to s.
func (s *rollupSums) addInts(v *rollupSums) {
	s.requests += v.requests
	s.errors += v.errors
	s.estimated += v.estimated
	s.prompt += v.prompt
	s.completion += v.completion
	s.total += v.total
	s.cached += v.cached
	s.reasoning += v.reasoning
	s.maxLatency = max(s.maxLatency, v.maxLatency)
}

// rollupRow is one row to upsert.
type rollupRow struct {
	k rollupKey
	s *rollupSums
}

// labelSums are the rows of one set of rollupLabels and its records'
// addCounts sums, which rollUp adds to each row once at the end instead
// of every record to each of its rows (nine of them).
type labelSums struct {
	rows []*rollupSums
	sums rollupSums
}

// rollUp aggregates records into the rows of every kept cube, in primary
// key order, so that concurrent writers lock rows in the same order and
// never deadlock.
func rollUp(records []usage.Record) []rollupRow {
	groups := make(map[rollupKey]*rollupSums)
	// The records of a batch mostly share their labels: a few keys,
	// models and deployments within an hour. The rows of each distinct
	// set of labels and hour are found in groups once, and its other
	// records are added to them straight: their floats to each row in
	// record order as before, their counts to the set's own sums. One
	// lookup a record instead of one a row. A batch whose records mostly
	// differ (many keys) stops remembering, which would only cost it.
	memo := make(map[rollupLabels]*labelSums)
	var sets []*labelSums
	scratch := make([]*rollupSums, 0, rollupRowsPerRecord)
	for i := range records {
		r := &records[i]
		ms := r.Time.UnixMilli()
		bucket := LatencyBucket(r.Latency)
		if memo == nil {
			for _, g := range rollupRowsOf(groups, r, ms, scratch[:0]) {
				g.add(r, bucket)
			}
			continue
		}
		l := rollupLabels{
			hour: floorDiv(ms, msPerHour), class: statusClass(r.Status),
			key: r.KeyID, team: r.TeamID, event: r.EventID, model: r.Model, deployment: r.Deployment, endpoint: r.Endpoint,
		}
		set := memo[l]
		if set == nil {
			set = &labelSums{rows: rollupRowsOf(groups, r, ms, make([]*rollupSums, 0, rollupRowsPerRecord))}
			memo[l] = set
			if sets = append(sets, set); len(sets) > 64 && 2*len(sets) > i {
				memo = nil
			}
		}
		set.sums.addCounts(r, bucket)
		for _, g := range set.rows {
			g.addFloats(r)
		}
	}
	for _, set := range sets {
		for _, g := range set.rows {
			g.mergeCounts(&set.sums)
		}
	}
	rows := make([]rollupRow, 0, len(groups))
	for k, s := range groups {
		rows = append(rows, rollupRow{k, s})
	}
	slices.SortFunc(rows, func(a, b rollupRow) int { return compareRollupKeys(a.k, b.k) })
	return rows
}

// rollupRowsOf appends the rows record r (at ms) adds to, made in groups
// when new.
func rollupRowsOf(groups map[rollupKey]*rollupSums, r *usage.Record, ms int64, rows []*rollupSums) []*rollupSums {
	for _, sp := range rollupSpans {
		for _, cube := range sp.cubes {
			k := rollupKeyOf(r, sp.ms, floorDiv(ms, sp.ms)*sp.ms, cube)
			g := groups[k]
			if g == nil {
				g = &rollupSums{}
				groups[k] = g
			}
			rows = append(rows, g)
		}
	}
	return rows
}

func compareRollupKeys(a, b rollupKey) int {
	return cmp.Or(
		cmp.Compare(a.span, b.span), cmp.Compare(a.cube, b.cube), cmp.Compare(a.period, b.period),
		strings.Compare(a.key, b.key), strings.Compare(a.team, b.team), strings.Compare(a.event, b.event),
		strings.Compare(a.model, b.model), strings.Compare(a.deployment, b.deployment),
		strings.Compare(a.endpoint, b.endpoint), cmp.Compare(a.class, b.class),
	)
}

// rollupKeyOf is r's row in cube of the given span and period.
func rollupKeyOf(r *usage.Record, span, period int64, cube uint8) rollupKey {
	k := rollupKey{span: span, period: period, cube: cube}
	if cube&dimKey != 0 {
		k.key = text(r.KeyID)
	}
	if cube&dimTeam != 0 {
		k.team = text(r.TeamID)
	}
	if cube&dimEvent != 0 {
		k.event = text(r.EventID)
	}
	if cube&dimModel != 0 {
		k.model = text(r.Model)
	}
	if cube&dimDeployment != 0 {
		k.deployment = text(r.Deployment)
	}
	if cube&dimEndpoint != 0 {
		k.endpoint = text(r.Endpoint)
	}
	if cube&dimStatus != 0 {
		k.class = statusClass(r.Status)
	}
	return k
}

// statusClass is 2 for 2xx, 4 for 4xx and so on; 0 for no status.
func statusClass(status int) int16 {
	if status < 100 || status > 999 {
		return 0
	}
	return int16(status / 100)
}

// floorDiv is a / b rounded down, for times before 1970 too.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

const rollupColumns = `span, cube, period, key_id, team_id, event_id, model, deployment,
	endpoint, status_class, requests, errors, estimated, prompt_tokens, completion_tokens,
	total_tokens, cached_tokens, reasoning_tokens, audio_seconds, cost, max_latency_us, latency_hist`

const rollupColumnCount = 22

// rollupUpsertSQL returns the rollup upsert for d: on PostgreSQL one array
// per column (see upsertRollupArrays), elsewhere one row, a prepared
// statement run per row. On conflict every sum adds, the histograms merge
// and the longest latency stays.
func rollupUpsertSQL(d dialect) string {
	var b strings.Builder
	b.WriteString("INSERT INTO usage_rollups (" + rollupColumns + ") ")
	if d.numbered {
		b.WriteString(`SELECT * FROM unnest(?::bigint[], ?::smallint[], ?::bigint[], ?::text[], ?::text[],
			?::text[], ?::text[], ?::text[], ?::text[], ?::smallint[], ?::bigint[], ?::bigint[], ?::bigint[],
			?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::float8[], ?::float8[],
			?::bigint[], ?::text[])`)
	} else {
		b.WriteString("VALUES (" + strings.Repeat("?, ", rollupColumnCount-1) + "?)")
	}
	b.WriteString(` ON CONFLICT (span, cube, period, key_id, team_id, event_id, model, deployment, endpoint, status_class) DO UPDATE SET `)
	for i, c := range []string{"requests", "errors", "estimated", "prompt_tokens", "completion_tokens",
		"total_tokens", "cached_tokens", "reasoning_tokens", "audio_seconds", "cost"} {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = usage_rollups.%[1]s + excluded.%[1]s", c)
	}
	fmt.Fprintf(&b, ", max_latency_us = %s(usage_rollups.max_latency_us, excluded.max_latency_us)", d.greatest)
	b.WriteString(", " + d.histSet())
	return d.rebind(b.String())
}

// rollupTailVersion is the migration that adds usage_rollups.latency_tail.
const rollupTailVersion = 90

// rollupUpsertSQLWithout is rollupUpsertSQL for a schema before
// rollupTailVersion: on PostgreSQL every conflict merges the histograms.
func rollupUpsertSQLWithout(d dialect) string {
	if d.numbered {
		d.histSet = func() string {
			return "latency_hist = " + postgresHistMerge("usage_rollups.latency_hist", "excluded.latency_hist")
		}
	}
	return rollupUpsertSQL(d)
}

// upsertRollupRows adds rows to usage_rollups one at a time through up,
// the prepared rollupUpsertSQL (SQLite's way; PostgreSQL's is
// upsertRollupArrays); args is scratch space for the arguments.
func upsertRollupRows(ctx context.Context, up *sql.Stmt, rows []rollupRow, args []any) error {
	for _, r := range rows {
		if _, err := up.ExecContext(ctx, appendRollupArgs(args[:0], r)...); err != nil {
			return err
		}
	}
	return nil
}

// appendRollupArgs appends r's column values in rollupColumns order.
func appendRollupArgs(args []any, r rollupRow) []any {
	k, v := &r.k, r.s
	return append(args, k.span, int64(k.cube), k.period, k.key, k.team, k.event, k.model,
		k.deployment, k.endpoint, int64(k.class), v.requests, v.errors, v.estimated,
		v.prompt, v.completion, v.total, v.cached, v.reasoning, v.audio, v.cost,
		v.maxLatency, encodeHist(v.hist))
}

// upsertRollupArrays is upsertRollups on PostgreSQL: one statement whose
// 22 parameters are arrays, one element per row, which PostgreSQL binds
// and plans far faster than thousands of scalar parameters.
func (s *sqlStore) upsertRollupArrays(ctx context.Context, tx *sql.Tx, rows []rollupRow) error {
	n := len(rows)
	var (
		span, cube, period, class                           = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		key, team, event, model, deployment, endpoint, hist = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		requests, errs, estimated, prompt, completion       = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		total, cached, reasoning, maxLatency                = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		audio, cost                                         = make([]float64, n), make([]float64, n)
	)
	for i, r := range rows {
		k, v := &r.k, r.s
		span[i], cube[i], period[i], class[i] = k.span, int64(k.cube), k.period, int64(k.class)
		key[i], team[i], event[i], model[i], deployment[i], endpoint[i] = k.key, k.team, k.event, k.model, k.deployment, k.endpoint
		requests[i], errs[i], estimated[i], prompt[i], completion[i] = v.requests, v.errors, v.estimated, v.prompt, v.completion
		total[i], cached[i], reasoning[i], maxLatency[i] = v.total, v.cached, v.reasoning, v.maxLatency
		audio[i], cost[i], hist[i] = v.audio, v.cost, encodeHist(v.hist)
	}
	_, err := tx.ExecContext(ctx, s.q.usage.upsertRollups, span, cube, period, key, team, event, model,
		deployment, endpoint, class, requests, errs, estimated, prompt, completion, total, cached,
		reasoning, audio, cost, maxLatency, hist)
	if err != nil {
		return fmt.Errorf("store: insert usage: rollups: %w", err)
	}
	return nil
}
