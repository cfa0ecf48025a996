-- The attendee whose key made an object, beside its event (00040), so the
-- usage a batch or a background response is charged for later, by the
-- follower, carries the attendee as a request's own record does.

-- +goose Up
ALTER TABLE objects ADD COLUMN attendee TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE objects DROP COLUMN attendee;
