-- Teams: a group of keys sharing allow-lists, rpm/tpm limits and budgets
-- (DESIGN.md "Identity and organisation"). A key belongs to at most one
-- team through keys.team_id, '' for none; keys.team stays the free-text
-- label it always was. Portable like 00004: times are unix milliseconds,
-- JSON is TEXT, NULL when empty.

-- +goose Up
CREATE TABLE teams (
    id             TEXT             NOT NULL PRIMARY KEY,
    name           TEXT             NOT NULL DEFAULT '',
    -- JSON array of model names; NULL allows every model.
    models         TEXT,
    rpm            BIGINT           NOT NULL DEFAULT 0,
    tpm            BIGINT           NOT NULL DEFAULT 0,
    -- USD per UTC day and per calendar month; 0 is no budget.
    budget_daily   DOUBLE PRECISION NOT NULL DEFAULT 0,
    budget_monthly DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- JSON object; NULL when empty.
    metadata       TEXT,
    created_at     BIGINT           NOT NULL,
    updated_at     BIGINT           NOT NULL
);
ALTER TABLE keys ADD COLUMN team_id TEXT NOT NULL DEFAULT '';
-- ListKeys by team, and DeleteTeam detaching its keys.
CREATE INDEX keys_team ON keys (team_id);
-- A team's budget reads its spend since the start of the day or month.
CREATE INDEX usage_team_time ON usage (team_id, time);

-- +goose Down
DROP INDEX usage_team_time;
DROP INDEX keys_team;
ALTER TABLE keys DROP COLUMN team_id;
DROP TABLE teams;
