-- Sessions, their logs and platform delivery records.
CREATE TABLE sessions (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL,
    platform          TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    state             TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    started_at        TEXT,
    ended_at          TEXT,
    scheduled_minutes INTEGER NOT NULL,
    participants      TEXT NOT NULL,
    settings          TEXT NOT NULL,
    epoch             TEXT NOT NULL,
    head_seq          INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX sessions_open_external
    ON sessions (tenant_id, platform, external_id) WHERE state != 'ended';
CREATE INDEX sessions_created ON sessions (created_at);

CREATE TABLE events (
    session_id TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    actor_id   TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    body       BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_idempotency ON events (session_id, actor_id, event_id);

CREATE TABLE webhook_deliveries (
    tenant_id    TEXT NOT NULL,
    platform     TEXT NOT NULL,
    delivery_key TEXT NOT NULL,
    session_id   TEXT,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, platform, delivery_key)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_session ON webhook_deliveries (session_id);
