-- latency_tail holds latency histograms appended to a rollup row since
-- its latency_hist was last merged, in the same "bucket:count,..." form,
-- unsorted and with repeated buckets; a row's histogram is the sum of
-- both. PostgreSQL merges the tail into latency_hist only once it grows
-- past a few hundred characters, as merging in SQL at every upsert cost
-- most of the usage writer's time (see usage_hist.go); SQLite merges in
-- Go at every upsert and leaves it empty.

-- +goose Up
ALTER TABLE usage_rollups ADD COLUMN latency_tail TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE usage_rollups DROP COLUMN latency_tail;
