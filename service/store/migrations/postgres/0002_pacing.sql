-- Pacing timers, the vendor webhook outbox and the pacing cursor (service/pacing).
-- Times are Unix seconds. Every table is keyed by session_id and erased with its session.
CREATE TABLE timers (
    session_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    due_at        DOUBLE PRECISION NOT NULL,
    claimed_by    TEXT,
    claimed_until DOUBLE PRECISION,
    done          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (session_id, key)
);
CREATE INDEX timers_due ON timers (due_at) WHERE NOT done;

CREATE TABLE vendor_outbox (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    kind            TEXT NOT NULL,
    body            BYTEA NOT NULL,
    created_at      DOUBLE PRECISION NOT NULL,
    expires_at      DOUBLE PRECISION NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    claimed_by      TEXT,
    claimed_until   DOUBLE PRECISION,
    last_status     INTEGER,
    finished_at     DOUBLE PRECISION
);
CREATE INDEX vendor_outbox_due ON vendor_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX vendor_outbox_session ON vendor_outbox (session_id);

CREATE TABLE pacing_cursors (
    session_id TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL
);
