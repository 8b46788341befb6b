-- Sessions, their logs and platform delivery records (the PostgreSQL twin of sqlite/0001).
-- Times are TIMESTAMPTZ written with millisecond precision, so a record reads back exactly as
-- it does from SQLite's RFC 3339 text. JSON keeps the encoded text as written (JSONB would
-- reject a \u0000 escape in a display name); event bodies are the wire bytes, served as stored.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    platform          TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    state             TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    started_at        TIMESTAMPTZ,
    ended_at          TIMESTAMPTZ,
    scheduled_minutes INTEGER NOT NULL,
    participants      JSON NOT NULL,
    settings          JSON NOT NULL,
    epoch             TEXT NOT NULL,
    head_seq          BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sessions_open_external
    ON sessions (tenant_id, platform, external_id) WHERE state <> 'ended';
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX sessions_not_ended ON sessions (state) WHERE state <> 'ended';

CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    actor_id   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    body       BYTEA NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE UNIQUE INDEX events_idempotency ON events (session_id, actor_id, event_id);

CREATE TABLE webhook_deliveries (
    tenant_id    TEXT NOT NULL,
    platform     TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    session_id   TEXT,
    received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, platform, delivery_key)
);
CREATE INDEX webhook_deliveries_session ON webhook_deliveries (session_id);
