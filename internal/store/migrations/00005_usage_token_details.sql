-- The parts of a request's tokens priced or reported apart: prompt tokens
-- served from the prompt cache (cheaper), and completion tokens a
-- reasoning model spent thinking. Both are included in prompt_tokens and
-- completion_tokens; older rows read 0. And the seconds of audio an
-- upstream reports instead of tokens (whisper).

-- +goose Up
ALTER TABLE usage ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN audio_seconds DOUBLE PRECISION NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE usage DROP COLUMN audio_seconds;
ALTER TABLE usage DROP COLUMN reasoning_tokens;
ALTER TABLE usage DROP COLUMN cached_tokens;
