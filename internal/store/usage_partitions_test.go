package store_test

import (
	"database/sql"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/store/storetest"
	"github.com/spillwayhq/spillway/internal/usage"
)

// TestUsagePartitionUpgrade upgrades a database whose raw records an
// older binary wrote to a plain table: every record and every rollup is
// kept; on PostgreSQL the old table becomes one partition, whose expired
// rows retention deletes in batches until its range is wholly past
// retention, when it is dropped whole.
func TestUsagePartitionUpgrade(t *testing.T) {
	for _, db := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", newSQLite},
		{"postgres", func(t *testing.T) string { postgresURL(t); return newPostgres(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			url := db.url(t)
			base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
			now := base.Add(60 * time.Hour)
			opts := store.Options{Logger: testLogger(t), Now: func() time.Time { return now }}

			old, err := store.OpenAtVersion(ctx, url, opts, store.UsagePartitionsVersion-1)
			if err != nil {
				t.Fatalf("OpenAtVersion(%d): %v", store.UsagePartitionsVersion-1, err)
			}
			rnd := rand.New(rand.NewPCG(7, 8))
			var records []usage.Record
			for i := range 3000 {
				// Three days, the newest record in the afternoon of the third.
				records = append(records, benchRecord(rnd, i, base.Add(time.Duration(i)*70*time.Second).Truncate(time.Millisecond)))
			}
			for chunk := range slices.Chunk(records, 500) {
				if err := old.InsertUsage(ctx, chunk); err != nil {
					t.Fatalf("InsertUsage before the upgrade: %v", err)
				}
			}
			byDay := store.UsageQuery{From: base.Add(-24 * time.Hour), To: base.Add(10 * 24 * time.Hour), GroupBy: store.GroupByDay}
			wantDays, err := old.QueryUsage(ctx, byDay)
			if err != nil {
				t.Fatal(err)
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}

			st, err := store.Open(ctx, url, opts)
			if err != nil {
				t.Fatalf("Open after the upgrade: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			latest, _ := store.LatestSchemaVersion()
			if v, err := store.SchemaVersion(ctx, st); err != nil || v != latest {
				t.Fatalf("schema version after the upgrade = %d, %v; want %d", v, err, latest)
			}
			checkRaw := func(when string, want []usage.Record) {
				t.Helper()
				var got []string
				if err := st.ExportUsage(ctx, base.Add(-24*time.Hour), base.Add(30*24*time.Hour), func(r *usage.Record) error {
					got = append(got, r.RequestID)
					return nil
				}); err != nil {
					t.Fatalf("%s: ExportUsage: %v", when, err)
				}
				var ids []string
				for _, r := range want {
					ids = append(ids, r.RequestID)
				}
				if diff := gocmp.Diff(ids, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
					t.Fatalf("%s: raw records (-want +got):\n%s", when, diff)
				}
			}
			checkDays := func(when string) {
				t.Helper()
				got, err := st.QueryUsage(ctx, byDay)
				if err != nil {
					t.Fatal(err)
				}
				if diff := gocmp.Diff(wantDays, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
					t.Fatalf("%s: usage by day (-before the upgrade +after):\n%s", when, diff)
				}
			}
			checkRaw("after the upgrade", records)
			checkDays("after the upgrade")

			parts, err := st.(storetest.PartitionLister).UsagePartitions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			legacyEnd := base.Add(72 * time.Hour) // the day after the newest record
			if db.name == "sqlite" {
				if parts != nil {
					t.Fatalf("SQLite partitions = %v, want none", parts)
				}
			} else if len(parts) == 0 || !parts[0][0].IsZero() || !parts[0][1].Equal(legacyEnd) {
				t.Fatalf("partitions after the upgrade = %v; want the old table first, up to %v", parts, legacyEnd)
			}

			// A late record for a day of the old table, and a new day's.
			more := []usage.Record{
				benchRecord(rnd, 10_000, base.Add(30*time.Hour)),
				benchRecord(rnd, 10_001, base.Add(80*time.Hour)),
			}
			if err := st.InsertUsage(ctx, more); err != nil {
				t.Fatalf("InsertUsage after the upgrade: %v", err)
			}
			records = append(records, more...)
			if wantDays, err = st.QueryUsage(ctx, byDay); err != nil {
				t.Fatal(err)
			}

			// A cut-off inside the old table: its expired rows go in
			// batches of the limit, the rest stay.
			purge := func(before time.Time, limit int) int64 {
				t.Helper()
				var total int64
				for {
					n, err := st.PurgeUsage(ctx, before, limit)
					if err != nil {
						t.Fatalf("PurgeUsage(%v): %v", before, err)
					}
					if n > int64(limit) && before.Before(legacyEnd) {
						t.Fatalf("PurgeUsage(%v, %d) deleted %d rows of the old table at once", before, limit, n)
					}
					if n == 0 {
						return total
					}
					total += n
				}
			}
			before := base.Add(36 * time.Hour)
			kept := slices.DeleteFunc(slices.Clone(records), func(r usage.Record) bool { return r.Time.Before(before) })
			if got, want := purge(before, 100), int64(len(records)-len(kept)); got != want {
				t.Errorf("purged %d records before %v, want %d", got, before, want)
			}
			checkRaw("after purging inside the old table", kept)
			checkDays("after purging inside the old table")

			// Past the old table's end: on PostgreSQL it is dropped whole.
			before = legacyEnd.Add(time.Hour)
			now = before.Add(24 * time.Hour)
			cut := before
			if db.name == "postgres" {
				cut = legacyEnd // the day that holds before is kept whole
			}
			rest := slices.DeleteFunc(slices.Clone(kept), func(r usage.Record) bool { return r.Time.Before(cut) })
			if got, want := purge(before, 100), int64(len(kept)-len(rest)); got != want {
				t.Errorf("purged %d records before %v, want %d", got, before, want)
			}
			checkRaw("after purging past the old table", rest)
			checkDays("after purging past the old table")
			if parts, err = st.(storetest.PartitionLister).UsagePartitions(ctx); err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				if !p[1].After(before) {
					t.Errorf("partition %v ended before %v and is still there", p, before)
				}
			}
		})
	}
}

// TestUsagePartitionDown undoes migration 80 on PostgreSQL: usage is a
// plain table again and holds every record.
func TestUsagePartitionDown(t *testing.T) {
	postgresURL(t)
	ctx := t.Context()
	url := newPostgres(t)
	st := openClosed(t, url, nil)
	rnd := rand.New(rand.NewPCG(9, 10))
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var records []usage.Record
	for i := range 500 {
		records = append(records, benchRecord(rnd, i, base.Add(time.Duration(i)*7*time.Minute).Truncate(time.Millisecond)))
	}
	if err := st.InsertUsage(ctx, records); err != nil {
		t.Fatal(err)
	}
	if err := store.MigrateDownTo(ctx, st, store.UsagePartitionsVersion-1); err != nil {
		t.Fatalf("MigrateDownTo(%d): %v", store.UsagePartitionsVersion-1, err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var kind string
	var n int
	if err := db.QueryRowContext(ctx, `SELECT c.relkind, (SELECT COUNT(*) FROM usage) FROM pg_class c WHERE c.oid = 'usage'::regclass`).Scan(&kind, &n); err != nil {
		t.Fatal(err)
	}
	if kind != "r" || n != len(records) {
		t.Errorf("after the down migration: usage relkind %q with %d rows; want a plain table (r) with %d", kind, n, len(records))
	}
}
