package store

import "math"

// usageRead is one statement of a query's plan: rollup rows and raw
// records (span 0), each added or subtracted, whose sum at the
// statement's snapshot is exactly the records of one piece of the range.
// The pieces are disjoint, so the reads of a plan may run at once on
// separate connections and a record still counts once; what a read
// subtracts must be in that same read, one snapshot.
type usageRead []rollupPart

// planReads splits [from, to) into reads (see planUsage for the
// segments). With subtract, a partial hour at either end that is more
// than half of its hour is read as the hour's rollups less the raw
// records of the rest of the hour, and hours that are more than half of
// their day as the day less its other hours (see dayMinusHours): a range
// ending at 00:37 reads the hour 00:00 less the records after 00:37,
// none when the range ends now, instead of 37 minutes of raw records.
// Without subtract every part adds: the plan when a subtracted part
// holds a latency past the last bucket, whose longest latency cannot be
// subtracted. weeks are the starts of the weeks whose weekly rows may
// answer (see freshWeeks), ascending: those wholly in the range's whole
// days are read from them, in one read, and the days around them as
// before.
func planReads(from, to int64, hourly bool, need uint8, subtract bool, weeks []int64) []usageRead {
	_, hasHour := rollupCube(msPerHour, need)
	lo, hi := from, to
	var startMinus, endMinus []rollupPart
	if subtract && hasHour && from < to && ceilTo(from, msPerHour) <= floorTo(to, msPerHour) {
		if f := floorTo(from, msPerHour); from > f && from-f < msPerHour/2 {
			lo, startMinus = f, []rollupPart{{usageSegment{0, f, from}, 0, -1}}
		}
		if c := ceilTo(to, msPerHour); c > to && c-to < msPerHour/2 {
			hi, endMinus = c, []rollupPart{{usageSegment{0, to, c}, 0, -1}}
		}
	}
	segs := planUsage(lo, hi, hourly)
	reads := make([]usageRead, 0, len(segs))
	for i, seg := range segs {
		cube, ok := rollupCube(seg.span, need)
		if seg.span == 0 || !ok {
			seg.span = 0 // raw records
			reads = append(reads, usageRead{{seg, 0, 1}})
			continue
		}
		var read usageRead
		if subtract && seg.span == msPerHour && !hourly {
			if day, hours, ok := dayMinusHours(seg); ok {
				if dayCube, ok := rollupCube(msPerDay, need); ok {
					read = append(read, rollupPart{day, dayCube, 1})
					for _, h := range hours {
						read = append(read, rollupPart{h, cube, -1})
					}
				}
			}
		}
		// lo and hi, when moved to an hour, begin and end a rollup
		// segment: a raw segment is never longer than an hour's part.
		var minus []rollupPart
		if i == 0 {
			minus = append(minus, startMinus...)
		}
		if i == len(segs)-1 {
			minus = append(minus, endMinus...)
		}
		if read == nil && minus == nil && seg.span == msPerDay {
			var weekly, days []usageSegment
			if cube == cubeAccount {
				weekly, days = splitWeeks(seg, weeks)
			} else {
				days = []usageSegment{seg}
			}
			if len(weekly) > 0 {
				var read usageRead
				for _, w := range weekly {
					read = append(read, rollupPart{w, cube, 1})
				}
				reads = append(reads, read)
			}
			for _, d := range days {
				for _, half := range splitDays(d) {
					reads = append(reads, usageRead{{half, cube, 1}})
				}
			}
			continue
		}
		if read == nil {
			read = usageRead{{seg, cube, 1}}
		}
		read = append(read, minus...)
		reads = append(reads, read)
	}
	return reads
}

// splitDays splits a segment of whole days of at least splitDaysFrom
// days in two, to be read at once: "by key" over 30 days reads 14,500
// daily rows of about 1,000 characters of histograms, which one server
// process sends and one goroutine parses in turn; two of each use both
// cores of a small machine.
func splitDays(seg usageSegment) []usageSegment {
	if seg.from == math.MinInt64 || seg.to == math.MaxInt64 || seg.to-seg.from < splitDaysFrom*msPerDay {
		return []usageSegment{seg}
	}
	mid := seg.from + (seg.to-seg.from)/msPerDay/2*msPerDay
	return []usageSegment{{seg.span, seg.from, mid}, {seg.span, mid, seg.to}}
}

// splitDaysFrom is the fewest days splitDays splits: a week's rows are
// quick to read in one.
const splitDaysFrom = 8

// splitWeeks splits a segment of whole days into runs of the weeks
// (starts ascending) that lie wholly in it, as weekly segments, and the
// runs of days left.
func splitWeeks(seg usageSegment, weeks []int64) (weekly, days []usageSegment) {
	if seg.from == math.MinInt64 || seg.to == math.MaxInt64 {
		return nil, []usageSegment{seg}
	}
	add := func(out []usageSegment, span, from, to int64) []usageSegment {
		if from >= to {
			return out
		}
		if n := len(out); n > 0 && out[n-1].to == from {
			out[n-1].to = to
			return out
		}
		return append(out, usageSegment{span, from, to})
	}
	at := seg.from
	for _, w := range weeks {
		if w < seg.from || w+msPerWeek > seg.to {
			continue
		}
		days = add(days, msPerDay, at, w)
		weekly = add(weekly, msPerWeek, w, w+msPerWeek)
		at = w + msPerWeek
	}
	days = add(days, msPerDay, at, seg.to)
	return weekly, days
}
