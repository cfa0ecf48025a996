package store

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanUsage(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).UnixMilli()
	h, d := msPerHour, msPerDay
	const lo, hi = math.MinInt64, math.MaxInt64
	for _, tc := range []struct {
		name     string
		from, to int64
		hourly   bool
		want     []usageSegment
	}{
		{"whole days", day, day + 3*d, false, []usageSegment{{d, day, day + 3*d}}},
		{"whole days by hour", day, day + 3*d, true, []usageSegment{{h, day, day + 3*d}}},
		{"hours either side", day - 2*h, day + d + 5*h, false, []usageSegment{{h, day - 2*h, day}, {d, day, day + d}, {h, day + d, day + d + 5*h}}},
		{"partial hours", day + 90, day + 2*d + 3*h + 7, false, []usageSegment{
			{0, day + 90, day + h}, {h, day + h, day + d}, {d, day + d, day + 2*d}, {h, day + 2*d, day + 2*d + 3*h}, {0, day + 2*d + 3*h, day + 2*d + 3*h + 7}}},
		{"within an hour", day + 5, day + 50, false, []usageSegment{{0, day + 5, day + 50}}},
		{"across one hour edge", day - 5, day + 50, false, []usageSegment{{0, day - 5, day + 50}}},
		{"hours only", day + h, day + 5*h, false, []usageSegment{{h, day + h, day + 5*h}}},
		{"open both ends", lo, hi, false, []usageSegment{{d, lo, hi}}},
		{"open end", day + 30*60*1000, hi, false, []usageSegment{{0, day + 30*60*1000, day + h}, {h, day + h, day + d}, {d, day + d, hi}}},
		{"empty", day, day, false, nil},
		{"backwards", day + h, day, false, nil},
	} {
		if diff := cmp.Diff(tc.want, planUsage(tc.from, tc.to, tc.hourly), cmp.AllowUnexported(usageSegment{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestRollupCube(t *testing.T) {
	for _, tc := range []struct {
		need uint8
		want uint8
		ok   bool
	}{
		{0, cubeTotal, true},
		{dimModel, cubeOps, true},
		{dimDeployment | dimModel, cubeOps, true},
		{dimTeam, cubeTeam, true},
		{dimKey, cubeAccount, true},
		{dimEvent | dimKey, cubeAccount, true},
		{dimKey | dimModel, cubeCharge, true},
		{dimKey | dimDeployment, 0, false},
	} {
		for _, span := range []int64{msPerHour, msPerDay} {
			got, ok := rollupCube(span, tc.need)
			if tc.need == dimKey|dimModel && span == msPerHour {
				// Keys by model are kept per day only.
				if ok {
					t.Errorf("rollupCube(hour, key|model) = %07b, true; want none", got)
				}
				continue
			}
			if got != tc.want || ok != tc.ok {
				t.Errorf("rollupCube(%d, %07b) = %07b, %v; want %07b, %v", span, tc.need, got, ok, tc.want, tc.ok)
			}
		}
	}
}

func TestDayMinusHours(t *testing.T) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).UnixMilli()
	h, d := msPerHour, msPerDay
	for _, tc := range []struct {
		name      string
		seg       usageSegment
		wantDay   usageSegment
		wantMinus []usageSegment
		wantOK    bool
	}{
		{"23 hours at a day's end", usageSegment{h, day + h, day + d}, usageSegment{d, day, day + d}, []usageSegment{{h, day, day + h}}, true},
		{"20 hours at a day's start", usageSegment{h, day, day + 20*h}, usageSegment{d, day, day + d}, []usageSegment{{h, day + 20*h, day + d}}, true},
		{"hours in the middle", usageSegment{h, day + 2*h, day + 21*h}, usageSegment{d, day, day + d},
			[]usageSegment{{h, day, day + 2*h}, {h, day + 21*h, day + d}}, true},
		{"13 hours", usageSegment{h, day + 11*h, day + d}, usageSegment{d, day, day + d}, []usageSegment{{h, day, day + 11*h}}, true},
		{"half a day", usageSegment{h, day + 12*h, day + d}, usageSegment{}, nil, false},
		{"a few hours", usageSegment{h, day, day + 3*h}, usageSegment{}, nil, false},
		{"across midnight", usageSegment{h, day + 4*h, day + d + 2*h}, usageSegment{}, nil, false},
		{"a day segment", usageSegment{d, day, day + d}, usageSegment{}, nil, false},
		{"open start", usageSegment{h, math.MinInt64, day + d}, usageSegment{}, nil, false},
	} {
		gotDay, gotMinus, ok := dayMinusHours(tc.seg)
		if ok != tc.wantOK {
			t.Errorf("%s: ok = %v, want %v", tc.name, ok, tc.wantOK)
			continue
		}
		if diff := cmp.Diff(tc.wantDay, gotDay, cmp.AllowUnexported(usageSegment{})); diff != "" {
			t.Errorf("%s: day (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.wantMinus, gotMinus, cmp.AllowUnexported(usageSegment{})); diff != "" {
			t.Errorf("%s: minus (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestPlanReads(t *testing.T) {
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	h, d, m := msPerHour, msPerDay, int64(60*1000)
	raw := func(from, to, sign int64) rollupPart { return rollupPart{usageSegment{0, from, to}, 0, sign} }
	rollup := func(span, from, to int64, cube uint8, sign int64) rollupPart {
		return rollupPart{usageSegment{span, from, to}, cube, sign}
	}
	for _, tc := range []struct {
		name     string
		from, to int64
		hourly   bool
		need     uint8
		subtract bool
		want     []usageRead
	}{
		{"30 days ending at 00:37", day + 37*m, day + 30*d + 37*m, false, dimKey, true, []usageRead{
			{raw(day+37*m, day+h, 1)},
			{rollup(d, day, day+d, cubeAccount, 1), rollup(h, day, day+h, cubeAccount, -1)},
			// 29 whole days, read in two halves at once.
			{rollup(d, day+d, day+15*d, cubeAccount, 1)},
			{rollup(d, day+15*d, day+30*d, cubeAccount, 1)},
			{rollup(h, day+30*d, day+30*d+h, cubeAccount, 1), raw(day+30*d+37*m, day+30*d+h, -1)},
		}},
		{"without subtracting", day + 37*m, day + 30*d + 37*m, false, dimKey, false, []usageRead{
			{raw(day+37*m, day+h, 1)},
			{rollup(h, day+h, day+d, cubeAccount, 1)},
			{rollup(d, day+d, day+15*d, cubeAccount, 1)},
			{rollup(d, day+15*d, day+30*d, cubeAccount, 1)},
			{raw(day+30*d, day+30*d+37*m, 1)},
		}},
		{"by hour, 10 past to 20 to", day + 10*m, day + 3*h + 40*m, true, 0, true, []usageRead{
			{rollup(h, day, day+4*h, cubeTotal, 1), raw(day, day+10*m, -1), raw(day+3*h+40*m, day+4*h, -1)},
		}},
		{"half an hour at either end is raw", day + 30*m, day + 2*h + 30*m, true, 0, true, []usageRead{
			{raw(day+30*m, day+h, 1)}, {rollup(h, day+h, day+2*h, cubeTotal, 1)}, {raw(day+2*h, day+2*h+30*m, 1)},
		}},
		{"a week is one read", day, day + 7*d, false, dimKey, true, []usageRead{{rollup(d, day, day+7*d, cubeAccount, 1)}}},
		{"open start", math.MinInt64, day + 10*d, false, 0, true, []usageRead{{rollup(d, math.MinInt64, day+10*d, cubeTotal, 1)}}},
		{"within an hour", day + 5*m, day + 50*m, false, 0, true, []usageRead{{raw(day+5*m, day+50*m, 1)}}},
		{"keys by model: no hourly rows", day + 50*m, day + 2*d + 50*m, false, dimKey | dimModel, true, []usageRead{
			{raw(day+50*m, day+h, 1)}, {raw(day+h, day+d, 1)}, {rollup(d, day+d, day+2*d, cubeCharge, 1)},
			{raw(day+2*d, day+2*d+50*m, 1)},
		}},
	} {
		got := planReads(tc.from, tc.to, tc.hourly, tc.need, tc.subtract, nil)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(usageSegment{}, rollupPart{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestPlanReadsWeeks(t *testing.T) {
	// 2026-11-01 is a Sunday: its weeks start on the 2nd, 9th, 16th, 23rd.
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	h, d, w, m := msPerHour, msPerDay, msPerWeek, int64(60*1000)
	raw := func(from, to, sign int64) rollupPart { return rollupPart{usageSegment{0, from, to}, 0, sign} }
	rollup := func(span, from, to int64, cube uint8, sign int64) rollupPart {
		return rollupPart{usageSegment{span, from, to}, cube, sign}
	}
	from, to := day+37*m, day+30*d+37*m
	edges := func(middle ...usageRead) []usageRead {
		out := []usageRead{
			{raw(day+37*m, day+h, 1)},
			{rollup(d, day, day+d, cubeAccount, 1), rollup(h, day, day+h, cubeAccount, -1)},
		}
		out = append(out, middle...)
		return append(out, usageRead{rollup(h, day+30*d, day+30*d+h, cubeAccount, 1), raw(day+30*d+37*m, day+30*d+h, -1)})
	}
	for _, tc := range []struct {
		name  string
		need  uint8
		weeks []int64
		want  []usageRead
	}{
		{"four fresh weeks", dimKey, []int64{day + d, day + 8*d, day + 15*d, day + 22*d}, edges(
			usageRead{rollup(w, day+d, day+29*d, cubeAccount, 1)},
			usageRead{rollup(d, day+29*d, day+30*d, cubeAccount, 1)},
		)},
		{"the second week stale", dimKey | dimEvent, []int64{day + d, day + 15*d, day + 22*d}, edges(
			usageRead{rollup(w, day+d, day+8*d, cubeAccount, 1), rollup(w, day+15*d, day+29*d, cubeAccount, 1)},
			usageRead{rollup(d, day+8*d, day+15*d, cubeAccount, 1)},
			usageRead{rollup(d, day+29*d, day+30*d, cubeAccount, 1)},
		)},
		{"a week past the range's days is not read", dimKey, []int64{day + 22*d, day + 29*d}, edges(
			usageRead{rollup(w, day+22*d, day+29*d, cubeAccount, 1)},
			// 21 days before it, in two halves.
			usageRead{rollup(d, day+d, day+11*d, cubeAccount, 1)},
			usageRead{rollup(d, day+11*d, day+22*d, cubeAccount, 1)},
			usageRead{rollup(d, day+29*d, day+30*d, cubeAccount, 1)},
		)},
		{"teams read days", dimTeam, []int64{day + d, day + 8*d}, []usageRead{
			{raw(day+37*m, day+h, 1)},
			{rollup(d, day, day+d, cubeTeam, 1), rollup(h, day, day+h, cubeTeam, -1)},
			{rollup(d, day+d, day+15*d, cubeTeam, 1)},
			{rollup(d, day+15*d, day+30*d, cubeTeam, 1)},
			{rollup(h, day+30*d, day+30*d+h, cubeTeam, 1), raw(day+30*d+37*m, day+30*d+h, -1)},
		}},
	} {
		got := planReads(from, to, false, tc.need, true, tc.weeks)
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(usageSegment{}, rollupPart{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestFloorWeek(t *testing.T) {
	for _, tc := range []struct{ at, want time.Time }{
		{time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 29, 0, 0, 0, 0, time.UTC)},
	} {
		if got := time.UnixMilli(floorWeek(tc.at.UnixMilli())).UTC(); !got.Equal(tc.want) {
			t.Errorf("floorWeek(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
}
