package store_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/spillwayhq/spillway/internal/store"
	"github.com/spillwayhq/spillway/internal/usage"
)

// BenchmarkPurgeUsageDay measures retention removing a day of raw
// records on PostgreSQL: dropping the day's partition against deleting
// the same rows in batches of 5,000 from a plain table (the schema before
// migration 80). The rows are written straight by SQL (rollups play no
// part in a purge). Run it once per size:
//
//	go test -run '^$' -bench PurgeUsageDay -benchtime 1x ./internal/store/
func BenchmarkPurgeUsageDay(b *testing.B) {
	const rows = 1_000_000
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		version int64
	}{
		{"partition-drop", 0},
		{"batched-delete", store.UsagePartitionsVersion - 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			postgresURL(b)
			for b.Loop() {
				b.StopTimer()
				url := postgresSchema(b)
				st, err := store.OpenAtVersion(b.Context(), url, store.Options{Logger: testLogger(b)}, tc.version)
				if err != nil {
					b.Fatal(err)
				}
				// One record through the store, which creates the day's
				// partition when usage is partitioned.
				if err := st.InsertUsage(b.Context(), []usage.Record{{Time: day, RequestID: "first"}}); err != nil {
					b.Fatal(err)
				}
				db, err := sql.Open("pgx", url)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.ExecContext(b.Context(), `INSERT INTO usage (time, request_id, key_id, model, deployment,
					status, latency_us, prompt_tokens, completion_tokens, total_tokens, cost)
					SELECT $1::bigint + g * 86399999::bigint / $2::bigint, 'req-' || g, 'key-' || (g % 500), 'model-' || (g % 4),
					'deployment-' || (g % 12), 200, 800000, 1000, 200, 1200, 0.01
					FROM generate_series(0::bigint, $2::bigint - 1) g`, day.UnixMilli(), rows); err != nil {
					b.Fatal(err)
				}
				if _, err := db.ExecContext(b.Context(), `VACUUM ANALYZE`); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				var purged int64
				for {
					n, err := st.PurgeUsage(b.Context(), day.Add(25*time.Hour), 5000)
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
					purged += n
				}
				b.StopTimer()
				if purged != rows+1 {
					b.Fatalf("purged %d records, want %d", purged, rows+1)
				}
				var left int64
				if err := db.QueryRowContext(b.Context(), `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)
					FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace
					AND (c.relname = 'usage' OR c.relname LIKE 'usage\_2%')`).Scan(&left); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(left)/(1<<20), "MiB-left")
				db.Close()
				st.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkMigratePartitions measures migration 80 on a PostgreSQL
// database whose plain usage table holds 1,000,000 records over 30 days:
// the old table becomes a partition after one read, with no copy.
//
//	go test -run '^$' -bench MigratePartitions -benchtime 1x ./internal/store/
func BenchmarkMigratePartitions(b *testing.B) {
	const rows = 1_000_000
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	postgresURL(b)
	for b.Loop() {
		b.StopTimer()
		url := postgresSchema(b)
		old, err := store.OpenAtVersion(b.Context(), url, store.Options{Logger: testLogger(b)}, store.UsagePartitionsVersion-1)
		if err != nil {
			b.Fatal(err)
		}
		old.Close()
		db, err := sql.Open("pgx", url)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(b.Context(), `INSERT INTO usage (time, request_id, key_id, model, deployment,
			status, latency_us, prompt_tokens, completion_tokens, total_tokens, cost)
			SELECT $1::bigint + g * (30 * 86400000::bigint) / $2::bigint, 'req-' || g, 'key-' || (g % 500), 'model-' || (g % 4),
			'deployment-' || (g % 12), 200, 800000, 1000, 200, 1200, 0.01
			FROM generate_series(0::bigint, $2::bigint - 1) g`, day.UnixMilli(), rows); err != nil {
			b.Fatal(err)
		}
		if _, err := db.ExecContext(b.Context(), `VACUUM ANALYZE usage`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		st, err := store.Open(b.Context(), url, store.Options{Logger: testLogger(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		var n int64
		if err := db.QueryRowContext(b.Context(), `SELECT COUNT(*) FROM usage`).Scan(&n); err != nil || n != rows {
			b.Fatalf("usage holds %d rows after the migration, %v; want %d", n, err, rows)
		}
		st.Close()
		db.Close()
		b.StartTimer()
	}
}
