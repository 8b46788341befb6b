-- Pacing timers, the vendor webhook outbox and the pacing cursor (service/pacing).
-- Times are Unix seconds. Every table is keyed by session_id and erased with its session.
CREATE TABLE timers (
    session_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    due_at        REAL NOT NULL,
    claimed_by    TEXT,
    claimed_until REAL,
    done          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, key)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due_at) WHERE done = 0;

CREATE TABLE vendor_outbox (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    body            BLOB NOT NULL,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    claimed_by      TEXT,
    claimed_until   REAL,
    last_status     INTEGER,
    finished_at     REAL
) WITHOUT ROWID;
CREATE INDEX vendor_outbox_due ON vendor_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX vendor_outbox_session ON vendor_outbox (session_id);

CREATE TABLE pacing_cursors (
    session_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL
) WITHOUT ROWID;
