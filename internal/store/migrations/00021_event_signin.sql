-- Attendees may register for an event by signing in with an identity
-- provider (besides the shared code): signin_registration turns it on,
-- signin_domains (a JSON array; NULL for any) restricts it to emails of
-- those domains.

-- +goose Up
ALTER TABLE events ADD COLUMN signin_registration BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE events ADD COLUMN signin_domains TEXT;

-- +goose Down
ALTER TABLE events DROP COLUMN signin_domains;
ALTER TABLE events DROP COLUMN signin_registration;
