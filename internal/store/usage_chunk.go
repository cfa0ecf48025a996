package store

import (
	"database/sql/driver"
	"strconv"
	"strings"
)

// A chunk's records often agree on most of their labels and flags: a
// plain gateway's carry one key, one model, one endpoint, status 200,
// one attempt. Each parameter SQLite binds is a C call that takes the
// connection's mutex, and a text one is four (the driver copies the
// string into C memory, binds it, unbinds it after the step and frees
// the copy), so a chunk binds each value its records share once, as a
// numbered parameter every row names, and only the rest row by row.

// chunkShape is the form of one chunk INSERT: its columns, every one or
// usageLeanColumns, and which of them its records share.
type chunkShape struct {
	lean   bool
	shared uint32 // bit i: column i of the set is bound once for the chunk
}

// maxChunkShapes bounds the statements one write prepares: past it a
// chunk of a new shape binds all its values row by row (shape.shared 0,
// two statements more at most, lean and full), which stores the same.
const maxChunkShapes = 8

var (
	usageColumnNames     = splitColumns(usageColumns)
	usageLeanColumnNames = splitColumns(usageLeanColumns)
	// shareableColumns and shareableLeanColumns mark the columns of each
	// set whose values a chunk's records are likely to share: labels and
	// flags, not times, ids, latencies, tokens or costs, which would make
	// a new shape for the chunk that happened to agree on one, nor
	// audio_seconds, a float, for which == holds between 0 and -0.
	shareableColumns     = shareable(usageColumnNames)
	shareableLeanColumns = shareable(usageLeanColumnNames)
)

func splitColumns(columns string) []string {
	return strings.Fields(strings.ReplaceAll(columns, ",", " "))
}

func shareable(names []string) uint32 {
	var mask uint32
	for i, name := range names {
		switch name {
		case "key_id", "event_id", "attendee", "model", "deployment", "endpoint", "status", "attempts",
			"stream", "estimated", "end_user", "cached_tokens", "reasoning_tokens", "team_id", "batch_id":
			mask |= 1 << i
		}
	}
	return mask
}

// columns returns the shape's column names and the mask of those it may
// share.
func (s chunkShape) columns() ([]string, uint32) {
	if s.lean {
		return usageLeanColumnNames, shareableLeanColumns
	}
	return usageColumnNames, shareableColumns
}

// sql returns the shape's INSERT of n rows. The shared columns come
// first, as ?1 to ?k, so that every other column's anonymous parameter,
// which SQLite numbers one past the largest before it, follows them in
// the order the rows bind them (chunkArgs).
func (s chunkShape) sql(n int) string {
	names, _ := s.columns()
	var shared, own []string
	for i, name := range names {
		if s.shared&(1<<i) != 0 {
			shared = append(shared, name)
		} else {
			own = append(own, name)
		}
	}
	// Joined, not repeated: a shape that shared every column would
	// still make a well-formed row.
	marks := make([]string, 0, len(shared)+len(own))
	for i := range shared {
		marks = append(marks, "?"+strconv.Itoa(i+1))
	}
	for range own {
		marks = append(marks, "?")
	}
	row := "(" + strings.Join(marks, ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO usage (" + strings.Join(append(shared, own...), ", ") + ") VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// sharedColumns returns the columns, among those of mask, that every row
// of vals (rows of width values each) has the same value in.
func sharedColumns(vals []any, width int, mask uint32) uint32 {
	first := vals[:width]
	for rest := vals[width:]; len(rest) > 0 && mask != 0; rest = rest[width:] {
		for i, v := range rest[:width] {
			if mask&(1<<i) != 0 && v != first[i] {
				mask &^= 1 << i
			}
		}
	}
	return mask
}

// chunkArgs puts the values of vals (rows of width values each) in args,
// whose Ordinals are set, in the order shape's statement numbers its
// parameters: the shared ones once, then each row's own. It returns the
// args filled.
func chunkArgs(args []driver.NamedValue, vals []any, width int, shared uint32) []driver.NamedValue {
	n := 0
	for i := range width {
		if shared&(1<<i) != 0 {
			args[n].Value = vals[i]
			n++
		}
	}
	for ; len(vals) > 0; vals = vals[width:] {
		for i, v := range vals[:width] {
			if shared&(1<<i) == 0 {
				args[n].Value = v
				n++
			}
		}
	}
	return args[:n]
}
