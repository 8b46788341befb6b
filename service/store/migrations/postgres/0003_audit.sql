-- The audit trail (HIPAA audit controls, 45 CFR 164.312(b)); see the SQLite twin.
CREATE TABLE audit_log (
    id           BIGSERIAL PRIMARY KEY,
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
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
