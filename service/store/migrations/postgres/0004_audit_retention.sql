-- The audit trail's retention and pseudonyms (issue 13); see the SQLite twin for the why.
CREATE TABLE audit_log_horizon (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    horizon TEXT NOT NULL
);
INSERT INTO audit_log_horizon (one, horizon) VALUES (1, '');
CREATE FUNCTION audit_log_horizon_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit log horizon is kept';
    END IF;
    IF NEW.one IS DISTINCT FROM OLD.one OR NEW.horizon < OLD.horizon
        OR NEW.horizon > to_char(
            (now() AT TIME ZONE 'UTC') - interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'
        ) THEN
        RAISE EXCEPTION 'the audit log horizon only moves forward, and never into the last day';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_horizon_forward BEFORE UPDATE OR DELETE ON audit_log_horizon
    FOR EACH ROW EXECUTE FUNCTION audit_log_horizon_forward();
CREATE FUNCTION audit_log_delete_past_horizon() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.at >= (SELECT horizon FROM audit_log_horizon) THEN
        RAISE EXCEPTION
            'the audit log is append-only; comfort purge deletes what is past its retention';
    END IF;
    RETURN OLD;
END;
$$;
DROP TRIGGER audit_log_no_change ON audit_log;
CREATE INDEX audit_log_at ON audit_log (at);
-- Pseudonyms: entries written before held the vendor's participant ids; redacted here.
UPDATE audit_log SET actor = 'participant:redacted'
WHERE actor LIKE 'participant:%' AND actor <> 'participant:redacted';
UPDATE audit_log SET detail = jsonb_set(detail::jsonb, '{participant_id}', '"redacted"')::text
WHERE detail::jsonb ? 'participant_id';
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_delete_past_horizon();
