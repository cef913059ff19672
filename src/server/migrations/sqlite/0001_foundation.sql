-- Organisations, people, sessions, activities with their frozen rosters, and the sync ledger.
-- Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE orgs (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES orgs(id),
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('department', 'committee', 'branch'))
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    phone         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'lead', 'admin')),
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    membership    TEXT NOT NULL DEFAULT 'full' CHECK (membership IN ('full', 'probationary')),
    mobile        INTEGER NOT NULL DEFAULT 0,
    programme     TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_org ON users(org_id);

-- Only a SHA-256 of each token is stored: a leaked database does not leak sessions.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- The server sequence orders every change; pull cursors are values of it.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('server_seq', 0);

CREATE TABLE activities (
    id         TEXT PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs(id),
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    place      TEXT NOT NULL,
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    code       TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    server_seq INTEGER NOT NULL
);
CREATE INDEX activities_org_seq ON activities(org_id, server_seq);

-- One row per member per activity (the natural key), created when the activity is published: 应到 is frozen.
CREATE TABLE attendance (
    activity_id  TEXT NOT NULL REFERENCES activities(id),
    member_id    INTEGER NOT NULL REFERENCES users(id),
    status       TEXT NOT NULL,
    record_id    TEXT,
    signed_at    INTEGER,
    device_time  INTEGER,
    received_at  INTEGER,
    clock_skewed INTEGER NOT NULL DEFAULT 0,
    confirmed_by INTEGER REFERENCES users(id),
    confirmed_at INTEGER,
    server_seq   INTEGER NOT NULL,
    PRIMARY KEY (activity_id, member_id)
);
CREATE INDEX attendance_member_seq ON attendance(member_id, server_seq);
CREATE INDEX attendance_seq ON attendance(server_seq);

-- Each device numbers its mutations per user; last_seq shows how far it got.
CREATE TABLE devices (
    device_id TEXT NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users(id),
    last_seq  INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (device_id, user_id)
);

-- Every mutation ever received, once: the primary key makes a retry a no-op, and the stored
-- receipt answers it.
CREATE TABLE mutations (
    id               TEXT PRIMARY KEY,
    device_id        TEXT NOT NULL,
    user_id          INTEGER NOT NULL REFERENCES users(id),
    seq              INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    device_time      INTEGER NOT NULL,
    server_offset_ms INTEGER NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('applied', 'quarantined')),
    reason           TEXT,
    server_seq       INTEGER NOT NULL,
    received_at      INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor_id INTEGER NOT NULL REFERENCES users(id),
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL
);
