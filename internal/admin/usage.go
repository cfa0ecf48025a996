package admin

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
)

// defaultUsageRange is how far back GET /admin/v1/usage looks without
// ?from=.
const defaultUsageRange = 7 * 24 * time.Hour

// usageGroupBys are the accepted ?group_by= values, for messages.
const usageGroupBys = "day, hour, model, deployment, key, event or team (or none, for one total)"

// usageRow is one group of GET /admin/v1/usage. Latencies are in
// milliseconds, as the upper bound of their latency bucket (at most about
// 5% above the exact percentile).
type usageRow struct {
	Group            string  `json:"group"`
	Requests         int64   `json:"requests"`
	Errors           int64   `json:"errors"`
	PromptTokens     int64   `json:"prompt_tokens"`
	CompletionTokens int64   `json:"completion_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	Cost             float64 `json:"cost"`
	P50LatencyMS     float64 `json:"p50_latency_ms"`
	P95LatencyMS     float64 `json:"p95_latency_ms"`
}

// usageResponse is the JSON body of GET /admin/v1/usage.
type usageResponse struct {
	Data    []usageRow `json:"data"`
	From    string     `json:"from"`
	To      string     `json:"to"`
	GroupBy string     `json:"group_by"`
}

// usage answers GET /admin/v1/usage: requests, errors, tokens, cost and
// latency percentiles of the records in [from, to), grouped by
// ?group_by=, filtered by ?key=, ?event=, ?team= and ?model=, as JSON or, with
// ?format=csv, as a CSV download for chargeback.
func (h *handler) usage(w http.ResponseWriter, r *http.Request) error {
	q, csvFormat, err := parseUsageQuery(r.URL.Query(), h.opts.Now())
	if err != nil {
		return err
	}
	rows, err := h.opts.Store.QueryUsage(r.Context(), q)
	if err != nil {
		return err
	}
	data := make([]usageRow, len(rows))
	for i, row := range rows {
		data[i] = usageRow{
			Group: row.Group, Requests: row.Requests, Errors: row.Errors,
			PromptTokens: row.PromptTokens, CompletionTokens: row.CompletionTokens,
			TotalTokens: row.TotalTokens, Cost: row.Cost,
			P50LatencyMS: millis(row.P50), P95LatencyMS: millis(row.P95),
		}
	}
	if csvFormat {
		writeUsageCSV(w, q, data)
		return nil
	}
	writeJSON(w, http.StatusOK, usageResponse{
		Data: data, From: q.From.Format(time.RFC3339), To: q.To.Format(time.RFC3339), GroupBy: q.GroupBy,
	})
	return nil
}

// parseUsageQuery reads the query string; every bad value is a 400
// naming its parameter. csvFormat reports ?format=csv.
func parseUsageQuery(v url.Values, now time.Time) (q store.UsageQuery, csvFormat bool, err error) {
	if err := onlyOnce(v, "from", "to", "group_by", "key", "event", "team", "model", "format"); err != nil {
		return q, false, err
	}
	// The default end is the end of the current second: the range is
	// half-open, and "up to now" must include a record made this very
	// millisecond. It is also exactly what the answer displays.
	q.To = now.UTC().Truncate(time.Second).Add(time.Second)
	if s := v.Get("to"); s != "" {
		if q.To, err = parseUsageTime("to", s, true); err != nil {
			return q, false, err
		}
	}
	q.From = q.To.Add(-defaultUsageRange)
	if s := v.Get("from"); s != "" {
		if q.From, err = parseUsageTime("from", s, false); err != nil {
			return q, false, err
		}
	}
	if !q.From.Before(q.To) {
		return q, false, errBadRequest("from", "invalid_parameter", "from (%s) must be before to (%s)", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	q.GroupBy = v.Get("group_by")
	if !store.ValidUsageGroupBy(q.GroupBy) {
		return q, false, errBadRequest("group_by", "invalid_parameter", "group_by=%q; use %s", q.GroupBy, usageGroupBys)
	}
	q.KeyID, q.EventID, q.TeamID, q.Model = v.Get("key"), v.Get("event"), v.Get("team"), v.Get("model")
	switch format := v.Get("format"); format {
	case "", "json":
	case "csv":
		csvFormat = true
	default:
		return q, false, errBadRequest("format", "invalid_parameter", "format=%q; use json or csv", format)
	}
	return q, csvFormat, nil
}

// parseUsageTime reads an RFC 3339 time or a date, which means midnight
// UTC; as the end of a range (to) a date means the end of that day, so
// from=2026-11-01&to=2026-11-30 is all of November's first 30 days.
func parseUsageTime(param, s string, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, errBadRequest(param, "invalid_parameter", "%s=%q; use a date (2026-11-22) or an RFC 3339 time (2026-11-22T13:00:00Z)", param, s)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d/time.Microsecond) / 1000
}

// writeUsageCSV writes data as a CSV attachment with a header row. Once
// the status is sent a write error is the client's connection, and there
// is no error body left to write.
func writeUsageCSV(w http.ResponseWriter, q store.UsageQuery, data []usageRow) {
	group := q.GroupBy
	if group == "" {
		group = "total"
	}
	name := fmt.Sprintf("spillway-usage-%s_%s-%s.csv", q.From.Format("20060102T1504Z"), q.To.Format("20060102T1504Z"), group)
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)

	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group", "requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost", "p50_latency_ms", "p95_latency_ms"})
	for _, r := range data {
		_ = cw.Write([]string{
			spreadsheetSafe(r.Group),
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Errors, 10),
			strconv.FormatInt(r.PromptTokens, 10), strconv.FormatInt(r.CompletionTokens, 10),
			strconv.FormatInt(r.TotalTokens, 10),
			strconv.FormatFloat(r.Cost, 'f', -1, 64),
			strconv.FormatFloat(r.P50LatencyMS, 'f', -1, 64), strconv.FormatFloat(r.P95LatencyMS, 'f', -1, 64),
		})
	}
	cw.Flush()
}

// spreadsheetSafe defuses a cell a spreadsheet would run as a formula: a
// group is a model name or key id a client may have chosen, and CSV
// exports end up in spreadsheets.
func spreadsheetSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}
