package store

import (
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"modernc.org/sqlite"
)

// A rollup keeps its latencies as a histogram of latency buckets (see
// latencybucket.go) in a TEXT column, "bucket:count,..." in bucket order
// with only the buckets that hold records: mergeable by adding counts,
// which is what makes percentiles of any set of rollup rows exact to the
// bucket. On conflict the database adds them with histSet: a Go function
// on SQLite, an append to latency_tail merged now and then on PostgreSQL.

// histCount is one bucket of a histogram being built.
type histCount struct {
	bucket int16
	count  int64
}

// histAddOne counts one record in bucket b of h.
func histAddOne(h []histCount, b int) []histCount {
	i, found := slices.BinarySearchFunc(h, int16(b), func(c histCount, b int16) int { return int(c.bucket) - int(b) })
	if found {
		h[i].count++
		return h
	}
	return slices.Insert(h, i, histCount{bucket: int16(b), count: 1})
}

// histMerge returns a with b's counts added: a itself when it has every
// bucket of b, a new histogram otherwise (b is left alone either way).
func histMerge(a, b []histCount) []histCount {
	out := a
	j := 0
	for _, c := range b {
		for j < len(a) && a[j].bucket < c.bucket {
			j++
		}
		if j == len(a) || a[j].bucket != c.bucket {
			out = nil
			break
		}
	}
	if out != nil || len(b) == 0 {
		for i, j := 0, 0; i < len(b); i++ {
			for a[j].bucket < b[i].bucket {
				j++
			}
			a[j].count += b[i].count
		}
		return a
	}
	out = make([]histCount, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].bucket < b[j].bucket:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].bucket < a[i].bucket:
			out = append(out, b[j])
			j++
		default:
			out = append(out, histCount{a[i].bucket, a[i].count + b[j].count})
			i++
			j++
		}
	}
	return out
}

// encodeHist writes h in the column's form.
func encodeHist(h []histCount) string {
	b := make([]byte, 0, len(h)*8)
	for i, c := range h {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(c.bucket), 10)
		b = append(b, ':')
		b = strconv.AppendInt(b, c.count, 10)
	}
	return string(b)
}

// addHist adds the histogram s to the dense counts, one per bucket;
// buckets past the end (a future scheme) count as overflow, as raw rows
// do in usageAggregate.add.
func addHist(dense []int64, s string) error { return addHistTimes(dense, s, 1) }

// addHistTimes is addHist adding each count times k: -1 subtracts s.
func addHistTimes[T ~string | ~[]byte](dense []int64, s T, k int64) error {
	for i := 0; i < len(s); {
		bucket, n, ok := histNumber(s, i)
		if !ok || n >= len(s) || s[n] != ':' {
			return fmt.Errorf("latency histogram %q: bad bucket at %d", s, i)
		}
		count, m, ok := histNumber(s, n+1)
		if !ok || (m < len(s) && s[m] != ',') {
			return fmt.Errorf("latency histogram %q: bad count at %d", s, n+1)
		}
		dense[min(max(bucket, 0), int64(len(dense)-1))] += k * count
		i = m + 1
	}
	return nil
}

// histNumber parses the decimal number at s[i:], returning it and the
// index after it.
func histNumber[T ~string | ~[]byte](s T, i int) (n int64, end int, ok bool) {
	end = i
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		if n > (1<<62)/10 {
			return 0, end, false
		}
		n = n*10 + int64(s[end]-'0')
		end++
	}
	return n, end, end > i
}

// mergeHist adds two histograms in the column's form: a merge of two
// lists in bucket order, as the database does on every conflicting
// upsert, so it allocates only its answer.
func mergeHist(a, b string) (string, error) {
	out := make([]byte, 0, len(a)+len(b)+1)
	i, j := 0, 0
	next := func(s string, i int) (bucket, count int64, end int, err error) {
		bucket, n, ok := histNumber(s, i)
		if !ok || n >= len(s) || s[n] != ':' {
			return 0, 0, 0, fmt.Errorf("latency histogram %q: bad bucket at %d", s, i)
		}
		count, m, ok := histNumber(s, n+1)
		if !ok || (m < len(s) && s[m] != ',') {
			return 0, 0, 0, fmt.Errorf("latency histogram %q: bad count at %d", s, n+1)
		}
		return bucket, count, m + 1, nil
	}
	emit := func(bucket, count int64) {
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, bucket, 10)
		out = append(out, ':')
		out = strconv.AppendInt(out, count, 10)
	}
	var (
		ab, ac, bb, bc int64
		ni, nj         int
		err            error
	)
	if i < len(a) {
		if ab, ac, ni, err = next(a, i); err != nil {
			return "", err
		}
	}
	if j < len(b) {
		if bb, bc, nj, err = next(b, j); err != nil {
			return "", err
		}
	}
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && ab < bb):
			emit(ab, ac)
			if i = ni; i < len(a) {
				if ab, ac, ni, err = next(a, i); err != nil {
					return "", err
				}
			}
		case i >= len(a) || bb < ab:
			emit(bb, bc)
			if j = nj; j < len(b) {
				if bb, bc, nj, err = next(b, j); err != nil {
					return "", err
				}
			}
		default: // the same bucket
			emit(ab, ac+bc)
			if i = ni; i < len(a) {
				if ab, ac, ni, err = next(a, i); err != nil {
					return "", err
				}
			}
			if j = nj; j < len(b) {
				if bb, bc, nj, err = next(b, j); err != nil {
					return "", err
				}
			}
		}
	}
	return string(out), nil
}

// postgresHistSet is the SET clause that adds a conflicting row's
// histogram (excluded.latency_hist) to the stored one on PostgreSQL.
// Merging in SQL (postgresHistMerge) costs about ten times the rest of an
// upsert, so an incoming histogram is appended to latency_tail, unmerged
// (readers add a bucket that appears twice, see addHist), and only when
// the tail would grow past histTailBelow characters are the stored
// histogram, the tail and the incoming one merged, sorted and compacted
// into latency_hist, and the tail emptied: a row a batch touches with a
// few records merges once in dozens of batches instead of every time.
func postgresHistSet() string {
	const (
		hist, tail, in = "usage_rollups.latency_hist", "usage_rollups.latency_tail", "excluded.latency_hist"
	)
	short := `length(` + tail + `) + length(` + in + `) < ` + strconv.Itoa(histTailBelow)
	return `latency_hist = CASE WHEN ` + short + ` THEN ` + hist + ` ELSE ` + postgresHistMerge(hist, tail, in) + ` END, ` +
		`latency_tail = CASE WHEN ` + short + ` THEN concat_ws(',', NULLIF(` + tail + `, ''), NULLIF(` + in + `, '')) ELSE '' END`
}

// histTailBelow is the length latency_tail stays under: about 70 buckets'
// worth. Longer, fewer merges; shorter, less for readers to parse.
const histTailBelow = 512

// postgresHistMerge merges, sorts and compacts the histograms hs, SQL
// expressions, into one.
func postgresHistMerge(hs ...string) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = "NULLIF(" + h + ", '')"
	}
	return `(SELECT COALESCE(string_agg(h.b::text || ':' || h.n::text, ',' ORDER BY h.b), '') FROM
		(SELECT split_part(p, ':', 1)::int AS b, SUM(split_part(p, ':', 2)::bigint) AS n
		FROM unnest(string_to_array(concat_ws(',', ` + strings.Join(parts, ", ") + `), ',')) AS p
		GROUP BY 1) AS h)`
}

// sqliteHistSet is postgresHistSet for SQLite: a function of this
// process, registered below, merges in Go at every conflict, which costs
// little there; latency_tail stays empty.
func sqliteHistSet() string {
	return "latency_hist = usage_hist_add(usage_rollups.latency_hist, excluded.latency_hist)"
}

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("usage_hist_add", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		var s [2]string
		for i, a := range args {
			switch v := a.(type) {
			case string:
				s[i] = v
			case []byte:
				s[i] = string(v)
			case nil:
			default:
				return nil, fmt.Errorf("usage_hist_add: argument %d is %T, want text", i+1, a)
			}
		}
		return mergeHist(s[0], s[1])
	})
}
