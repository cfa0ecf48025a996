package store

import (
	"context"
	"strings"
)

// ExplainUsage returns the database's plan for q, one line per step. On
// PostgreSQL it first refreshes the table's statistics, as autovacuum
// would in production; SQLite is left without, as production leaves it.
func ExplainUsage(ctx context.Context, st Store, q UsageQuery) (string, error) {
	s := st.(*sqlStore)
	g, ok := usageGroups[q.GroupBy]
	if !ok {
		return "", errBadGroup(q.GroupBy)
	}
	if s.d.name == "postgres" {
		if _, err := s.write.ExecContext(ctx, "ANALYZE usage"); err != nil {
			return "", err
		}
	}
	from, to := usageRange(q)
	query, args := s.usageQuery(g, q, "usage", from, to)
	explain := "EXPLAIN "
	if s.d.name == "sqlite" {
		explain = "EXPLAIN QUERY PLAN "
	}
	rows, err := s.read.QueryContext(ctx, explain+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		// SQLite: id, parent, notused, detail; PostgreSQL: one text column.
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return "", err
		}
		line, _ := (*vals[len(vals)-1].(*any)).(string)
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), rows.Err()
}
