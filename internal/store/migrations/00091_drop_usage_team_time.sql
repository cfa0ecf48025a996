-- usage_team_time served team budgets read from raw records; budgets and
-- every usage read now use the rollups (00010), and the raw edge hours a
-- read adds are found by usage_time. The index only cost every insert a
-- second B-tree update. On PostgreSQL it survives only on the partition
-- usage_legacy (00080), which keeps the old table's name for it.

-- +goose Up
DROP INDEX IF EXISTS usage_team_time;

-- +goose Down
CREATE INDEX usage_team_time ON usage (team_id, time);
