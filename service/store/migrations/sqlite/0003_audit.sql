-- The audit trail (HIPAA audit controls, 45 CFR 164.312(b)): who did what, when, to which
-- session, with what outcome. Kept apart from session logs: erasing a session does not erase
-- the record that it was erased. No clinical content, no names, no tokens, no addresses
-- (only a keyed hash of the client address).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    tenant_id    TEXT,
    session_id   TEXT,
    action       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    address_hash TEXT,
    detail       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
CREATE INDEX audit_log_session ON audit_log (session_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
