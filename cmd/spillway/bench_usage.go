package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spillwayhq/spillway/internal/bench"
	"github.com/spillwayhq/spillway/internal/store"
)

// runBenchUsage is `spillway bench usage`: it writes generated usage
// records through the store's insert path into a scratch schema (or
// SQLite file), times the dashboard's queries from rollups and by raw
// scan, prints both, and drops the scratch data.
func runBenchUsage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeURL := fs.String("store", "", "postgres://… (a scratch schema is created and dropped) or sqlite:///path.db (a new file, removed after); default a SQLite file in a temporary directory")
	records := fs.Int("records", 1_000_000, "records to generate")
	days := fs.Int("days", 30, "days they spread over")
	batch := fs.Int("batch", 10_000, "records per insert")
	runs := fs.Int("runs", 5, "runs of each query from rollups (the median is shown)")
	keep := fs.Bool("keep", false, "keep the scratch schema or file (its name is printed)")
	schema := fs.String("schema", "", "with a postgres:// --store: time the queries on this schema kept by an earlier --keep run (same --records and --days), without loading or dropping it")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: spillway bench usage [flags]

Generates usage records (500 keys, 4 models, 12 deployments) through the
store's own insert path, raw records and rollups in one transaction per
batch, then times each dashboard query from rollups beside the same query
scanning raw records, and checks that both give the same answer.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *records <= 0 || *days <= 0 || *batch <= 0 {
		return errors.New("--records, --days and --batch must be positive")
	}

	var (
		url     string
		cleanup func() error
		err     error
	)
	if *schema != "" {
		url, err = keptSchema(*storeURL, *schema)
		cleanup = func() error { return nil }
	} else {
		url, cleanup, err = scratchStore(ctx, *storeURL, *keep, stdout)
	}
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); cerr != nil {
			fmt.Fprintf(stderr, "cleanup: %v\n", cerr)
		}
	}()
	st, err := store.Open(ctx, url, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer st.Close()

	o := bench.UsageOptions{Records: *records, Days: *days, Batch: *batch, Progress: stderr}
	end := time.Date(2026, 12, 1, 0, 37, 0, 0, time.UTC)
	if *schema != "" {
		fmt.Fprintf(stdout, "PostgreSQL schema %s as loaded (%d records, %d days)\n\n", *schema, *records, *days)
		if err := compactWeeks(ctx, st, end, stdout); err != nil {
			return err
		}
		timings, err := bench.TimeUsageQueries(ctx, st, end, *runs, o)
		if err != nil {
			return err
		}
		return bench.WriteUsageTimings(stdout, timings)
	}
	took, err := bench.SeedUsage(ctx, st, o)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	fmt.Fprintf(stdout, "inserted %d records (%d days, 500 keys, 4 models, 12 deployments) in batches of %d: %v, %.0f records/s\n\n",
		*records, *days, *batch, took.Round(time.Millisecond), float64(*records)/took.Seconds())
	if err := compactWeeks(ctx, st, end, stdout); err != nil {
		return err
	}
	if strings.HasPrefix(url, "postgres") {
		// Right after the load the rollup table holds the dead row
		// versions of every update, which autovacuum clears soon after in
		// a running gateway: time the queries as they are now, then
		// vacuum (as autovacuum would) and time them again with the scans.
		timings, err := bench.TimeUsageRollups(ctx, st, end, *runs, o)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "right after the load, before VACUUM (rollups only):")
		if err := bench.WriteUsageTimings(stdout, timings); err != nil {
			return err
		}
		began := time.Now()
		if err := vacuumUsage(ctx, url); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nVACUUM ANALYZE usage_rollups, usage: %v; then:\n", time.Since(began).Round(time.Millisecond))
	}
	timings, err := bench.TimeUsageQueries(ctx, st, end, *runs, o)
	if err != nil {
		return err
	}
	return bench.WriteUsageTimings(stdout, timings)
}

// compactWeeks builds the weekly rollups of every week ended by end, as
// the gateway's hourly maintenance does a few weeks at a time, and says
// how long it took: the 30-day "by key" query reads them.
func compactWeeks(ctx context.Context, st store.Store, end time.Time, stdout io.Writer) error {
	began := time.Now()
	total := 0
	for {
		built, left, err := st.CompactUsageWeeks(ctx, end, 100)
		if err != nil {
			return err
		}
		total += built
		if left == 0 || built == 0 {
			break
		}
	}
	fmt.Fprintf(stdout, "weekly rollups (weeks from Monday 00:00 UTC, ended by %s) built for %d weeks, stale or missing before: %v\n\n",
		end.Format(time.RFC3339), total, time.Since(began).Round(time.Millisecond))
	return nil
}

// scratchStore returns the URL of an empty store for the benchmark and a
// func that removes it (unless keep).
func scratchStore(ctx context.Context, raw string, keep bool, stdout io.Writer) (string, func() error, error) {
	switch {
	case raw == "":
		dir, err := os.MkdirTemp("", "spillway-bench-usage-")
		if err != nil {
			return "", nil, err
		}
		path := filepath.Join(dir, "usage.db")
		if keep {
			fmt.Fprintf(stdout, "SQLite file %s (kept)\n", path)
			return "sqlite://" + path, func() error { return nil }, nil
		}
		return "sqlite://" + path, func() error { return os.RemoveAll(dir) }, nil
	case strings.HasPrefix(raw, "sqlite://"):
		path := strings.TrimPrefix(raw, "sqlite://")
		if _, err := os.Stat(path); err == nil {
			return "", nil, fmt.Errorf("--store %s exists; give a new file", raw)
		}
		if keep {
			return raw, func() error { return nil }, nil
		}
		return raw, func() error {
			return errors.Join(os.Remove(path), ignoreMissing(os.Remove(path+"-wal")), ignoreMissing(os.Remove(path+"-shm")))
		}, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", nil, fmt.Errorf("--store: %w", err)
		}
		schema := "spillway_bench_" + strings.ToLower(rand.Text()[:10])
		db, err := sql.Open("pgx", raw)
		if err != nil {
			return "", nil, err
		}
		if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			return "", nil, errors.Join(fmt.Errorf("create schema: %w", err), db.Close())
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		if keep {
			fmt.Fprintf(stdout, "PostgreSQL schema %s (kept)\n", schema)
			return u.String(), db.Close, nil
		}
		return u.String(), func() error {
			// The run's context may be over (Ctrl-C): drop anyway.
			_, err := db.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
			return errors.Join(err, db.Close())
		}, nil
	}
	return "", nil, fmt.Errorf("--store %q: want postgres://… or sqlite:///path.db", raw)
}

// keptSchema returns the URL of schema, kept in the PostgreSQL database
// at raw by an earlier run.
func keptSchema(raw, schema string) (string, error) {
	if !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
		return "", errors.New("--schema needs a postgres:// --store")
	}
	if !strings.HasPrefix(schema, "spillway_bench_") {
		return "", fmt.Errorf("--schema %q: want a spillway_bench_… schema printed by a --keep run", schema)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--store: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// vacuumUsage runs VACUUM ANALYZE on the scratch schema's usage tables.
func vacuumUsage(ctx context.Context, url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, table := range []string{"usage_rollups", "usage"} {
		if _, err := db.ExecContext(ctx, "VACUUM ANALYZE "+table); err != nil {
			return fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	return nil
}

func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
