-- The audit trail's retention and pseudonyms (issue 13).
--
-- Retention: `comfort purge` deletes entries dated before COMFORT_AUDIT_RETENTION_DAYS, once
-- archived, and no others. The trail stays append-only otherwise: UPDATE is refused as before,
-- and DELETE is refused for every entry dated at or after the horizon, which `comfort purge`
-- raises in the transaction that deletes. The horizon only moves forward, and never into the
-- last day, so no statement can delete a recent entry without first changing this schema.
CREATE TABLE audit_log_horizon (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    horizon TEXT NOT NULL
);
INSERT INTO audit_log_horizon (one, horizon) VALUES (1, '');
CREATE TRIGGER audit_log_horizon_kept BEFORE DELETE ON audit_log_horizon
BEGIN
    SELECT RAISE(ABORT, 'the audit log horizon is kept');
END;
CREATE TRIGGER audit_log_horizon_forward BEFORE UPDATE ON audit_log_horizon
WHEN NEW.one IS NOT OLD.one OR NEW.horizon < OLD.horizon
    OR NEW.horizon > strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
BEGIN
    SELECT RAISE(ABORT, 'the audit log horizon only moves forward, and never into the last day');
END;
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN OLD.at >= (SELECT horizon FROM audit_log_horizon)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only; comfort purge deletes what is past its retention');
END;
CREATE INDEX audit_log_at ON audit_log (at);
-- Pseudonyms: entries name a participant by a keyed HMAC (service/pseudonyms.py) from now on.
-- Entries written before held the vendor's id, which may be an e-mail address; SQL has no key
-- to pseudonymise them with, so their participant ids are redacted (the session, role, action
-- and time stay). The one UPDATE the trail ever takes.
DROP TRIGGER audit_log_no_update;
UPDATE audit_log SET actor = 'participant:redacted'
WHERE actor LIKE 'participant:%' AND actor <> 'participant:redacted';
UPDATE audit_log SET detail = json_set(detail, '$.participant_id', 'redacted')
WHERE json_valid(detail) AND json_type(detail, '$.participant_id') IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
