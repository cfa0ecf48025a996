package admin

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spillwayhq/spillway/internal/usage"
)

// exportColumns are the CSV header of GET /admin/v1/usage/export and the
// NDJSON field names, one per raw record field. Prompts and answers are
// not exported (see /admin/v1/payloads).
var exportColumns = []string{
	"time", "request_id", "key_id", "team_id", "event_id", "attendee", "model", "deployment",
	"endpoint", "status", "attempts", "stream", "latency_ms", "ttfb_ms", "prompt_tokens",
	"completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens", "audio_seconds",
	"estimated", "cost", "user", "batch_id",
}

// exportRecord is one NDJSON line of the export.
type exportRecord struct {
	Time             string  `json:"time"`
	RequestID        string  `json:"request_id"`
	KeyID            string  `json:"key_id"`
	TeamID           string  `json:"team_id"`
	EventID          string  `json:"event_id"`
	Attendee         string  `json:"attendee"`
	Model            string  `json:"model"`
	Deployment       string  `json:"deployment"`
	Endpoint         string  `json:"endpoint"`
	Status           int     `json:"status"`
	Attempts         int     `json:"attempts"`
	Stream           bool    `json:"stream"`
	LatencyMS        float64 `json:"latency_ms"`
	TTFBMS           float64 `json:"ttfb_ms"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	CachedTokens     int     `json:"cached_tokens"`
	ReasoningTokens  int     `json:"reasoning_tokens"`
	AudioSeconds     float64 `json:"audio_seconds"`
	Estimated        bool    `json:"estimated"`
	Cost             float64 `json:"cost"`
	User             string  `json:"user"`
	BatchID          string  `json:"batch_id"`
}

func newExportRecord(r *usage.Record) exportRecord {
	return exportRecord{
		Time: r.Time.UTC().Format(time.RFC3339Nano), RequestID: r.RequestID, KeyID: r.KeyID,
		TeamID: r.TeamID, EventID: r.EventID, Attendee: r.Attendee, Model: r.Model,
		Deployment: r.Deployment, Endpoint: r.Endpoint, Status: r.Status, Attempts: r.Attempts,
		Stream: r.Stream, LatencyMS: millis(r.Latency), TTFBMS: millis(r.TTFB),
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, TotalTokens: r.TotalTokens,
		CachedTokens: r.CachedTokens, ReasoningTokens: r.ReasoningTokens, AudioSeconds: r.AudioSeconds,
		Estimated: r.Estimated, Cost: r.Cost, User: r.User, BatchID: r.BatchID,
	}
}

func (e exportRecord) csv() []string {
	return []string{
		e.Time, spreadsheetSafe(e.RequestID), spreadsheetSafe(e.KeyID), spreadsheetSafe(e.TeamID),
		spreadsheetSafe(e.EventID), spreadsheetSafe(e.Attendee), spreadsheetSafe(e.Model),
		spreadsheetSafe(e.Deployment), spreadsheetSafe(e.Endpoint), strconv.Itoa(e.Status),
		strconv.Itoa(e.Attempts), strconv.FormatBool(e.Stream),
		strconv.FormatFloat(e.LatencyMS, 'f', -1, 64), strconv.FormatFloat(e.TTFBMS, 'f', -1, 64),
		strconv.Itoa(e.PromptTokens), strconv.Itoa(e.CompletionTokens), strconv.Itoa(e.TotalTokens),
		strconv.Itoa(e.CachedTokens), strconv.Itoa(e.ReasoningTokens),
		strconv.FormatFloat(e.AudioSeconds, 'f', -1, 64), strconv.FormatBool(e.Estimated),
		strconv.FormatFloat(e.Cost, 'f', -1, 64), spreadsheetSafe(e.User), spreadsheetSafe(e.BatchID),
	}
}

// exportFlushEvery is how many records go out between flushes, so a
// long export reaches the client as it is read.
const exportFlushEvery = 1000

// errExportWrite marks a failed write to the client: the export stops,
// and with the status sent there is nothing left to tell it.
var errExportWrite = errors.New("export: client write failed")

// usageExport answers GET /admin/v1/usage/export?from=&to=&format=csv|ndjson:
// every raw record of [from, to) (default the last 7 days), oldest
// first, streamed as the store reads them, never held in memory. Records
// older than usage.retention are gone; rollups answer /admin/v1/usage
// for those.
func (h *handler) usageExport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	if err := onlyOnce(v, "from", "to", "format"); err != nil {
		return err
	}
	for p := range v {
		if p != "from" && p != "to" && p != "format" {
			return errBadRequest(p, "invalid_parameter", "unknown parameter %q; export takes from, to and format", p)
		}
	}
	// The range reads as /admin/v1/usage reads it; the format is the
	// export's own.
	rangeOnly := url.Values{"from": v["from"], "to": v["to"]}
	q, _, err := parseUsageQuery(rangeOnly, h.opts.Now())
	if err != nil {
		return err
	}
	format := v.Get("format")
	switch format {
	case "":
		format = "csv"
	case "csv", "ndjson":
	default:
		return errBadRequest("format", "invalid_parameter", "format=%q; use csv or ndjson", format)
	}
	name := fmt.Sprintf("spillway-usage-records-%s_%s.%s", q.From.Format("20060102T1504Z"), q.To.Format("20060102T1504Z"), format)
	// The status and headers go out with the first record, so a store that
	// fails before any (down, or an upgrade still rolling up) answers with
	// the usual error JSON instead of a broken download.
	flusher := http.NewResponseController(w)
	cw := csv.NewWriter(w)
	enc := json.NewEncoder(w)
	start := func() {
		hd := w.Header()
		if format == "csv" {
			hd.Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			hd.Set("Content-Type", "application/x-ndjson")
		}
		hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		hd.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if format == "csv" {
			_ = cw.Write(exportColumns)
		}
	}
	n := 0
	err = h.opts.Store.ExportUsage(r.Context(), q.From, q.To, func(rec *usage.Record) error {
		if n == 0 {
			start()
		}
		e := newExportRecord(rec)
		if format == "csv" {
			if err := cw.Write(e.csv()); err != nil {
				return errExportWrite
			}
		} else if err := enc.Encode(e); err != nil {
			return errExportWrite
		}
		if n++; n%exportFlushEvery == 0 {
			cw.Flush()
			if cw.Error() != nil || flusher.Flush() != nil {
				return errExportWrite
			}
		}
		return nil
	})
	if n == 0 {
		if err != nil {
			return err
		}
		start() // an empty range: the CSV header row only
	}
	cw.Flush()
	if err != nil && !errors.Is(err, errExportWrite) && r.Context().Err() == nil {
		// The status is sent: end the body early so the client sees a
		// truncated download rather than a short but complete one.
		h.log.ErrorContext(r.Context(), "usage export failed after the response started", "err", err, "records", n)
		panic(http.ErrAbortHandler)
	}
	return nil
}
