-- Records nobody can fake: how each sign-in was proven, who carried a record in, and the limits that keep
-- guessing and flooding out.

-- Wrong 签到码 typed per member and activity: after a few, the code is no longer checked.
ALTER TABLE attendance ADD COLUMN wrong_codes INTEGER NOT NULL DEFAULT 0;
-- The member's record claims a time before their phone's last sync (the clock was set back).
ALTER TABLE attendance ADD COLUMN time_doubtful INTEGER NOT NULL DEFAULT 0;
-- A lead marked themselves present (their own statement: never 已确认 by themselves).
ALTER TABLE attendance ADD COLUMN self_marked INTEGER NOT NULL DEFAULT 0;
-- Who carried in the member's unsigned record about this row, from a file (they may not decide on it).
ALTER TABLE attendance ADD COLUMN carried_by INTEGER REFERENCES users(id);
-- Leave that reached the server only after the activity had begun.
ALTER TABLE attendance ADD COLUMN late_request INTEGER NOT NULL DEFAULT 0;
-- A location sign-in is the member's own statement, never proof: those already stored are judged again.
UPDATE attendance SET code_unverified = 1
WHERE location_inside IS NOT NULL AND record_id IS NOT NULL AND status = 'signed_in';

-- Sign-ins per person and hour, and records per person and day, are counted from the ledger.
CREATE INDEX mutations_user_received ON mutations(user_id, received_at);

-- Who carried a record in, when someone imported another person's file of unsent records; and whom an
-- audited action concerns (they see it in 我的信息).
ALTER TABLE mutations ADD COLUMN imported_by INTEGER REFERENCES users(id);
ALTER TABLE audit_log ADD COLUMN imported_by INTEGER REFERENCES users(id);
ALTER TABLE audit_log ADD COLUMN about_user INTEGER REFERENCES users(id);
CREATE INDEX audit_log_about ON audit_log(about_user) WHERE about_user IS NOT NULL;

-- What happened to each account (a reset someone issued, a new password, disabled or restored), told to
-- its owner at the next login on their own phone and listed in 我的信息.
CREATE TABLE account_events (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    at       INTEGER NOT NULL,
    actor_id INTEGER REFERENCES users(id),
    what     TEXT NOT NULL
);
CREATE INDEX account_events_user ON account_events(user_id, at);
-- When this phone last logged in to this account: it is not slowed down by others' wrong guesses, and it
-- is told what happened since.
ALTER TABLE devices ADD COLUMN last_login_at INTEGER;

-- When the account first had a password: from then on a new one (a reset) is for an admin to issue, even
-- after the account was disabled and its password cleared.
ALTER TABLE users ADD COLUMN joined_at INTEGER;
UPDATE users SET joined_at = created_at WHERE password_hash != '';

-- The public halves of the keys each person's phones sign their records with. Kept for as long as the
-- records they signed may still arrive (an exported file can be imported months later).
CREATE TABLE device_keys (
    user_id       INTEGER NOT NULL REFERENCES users(id),
    device_id     TEXT NOT NULL,
    public_key    TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, device_id, public_key)
);

-- Two-step login for committee and district admins (TOTP): the secret once confirmed, one being set up,
-- and the last time step used (a code works once).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- Who carried in an unsigned study record (they may not recognise it).
ALTER TABLE study_records ADD COLUMN carried_by INTEGER REFERENCES users(id);

-- Records refused before they were applied (a signature that does not match, an unsigned record someone
-- else carried, too large): kept as evidence, but not under their id — the genuine record may still come.
CREATE TABLE refused_records (
    id          INTEGER PRIMARY KEY,
    record_id   TEXT NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    imported_by INTEGER REFERENCES users(id),
    received_at INTEGER NOT NULL
);
CREATE INDEX refused_records_user ON refused_records(user_id, received_at);
