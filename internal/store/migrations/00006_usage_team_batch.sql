-- The team of the key a request used, so usage and budgets can be read by
-- team, and the batch job a record came from (its usage is read when the
-- batch completes, hours after the request). Older rows read ''.

-- +goose Up
ALTER TABLE usage ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
ALTER TABLE usage ADD COLUMN batch_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE usage DROP COLUMN batch_id;
ALTER TABLE usage DROP COLUMN team_id;
