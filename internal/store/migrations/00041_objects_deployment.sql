-- The objects a deployment holds, counted when it is deleted or
-- deactivated, so the operator is warned whose objects become unreachable.

-- +goose Up
CREATE INDEX objects_deployment ON objects (deployment);

-- +goose Down
DROP INDEX objects_deployment;
