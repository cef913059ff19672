-- Accounts the organisation runs by itself: the tree's forms and a temporary branch's dates, each member's
-- party post and tags from the roster, one-time invitations (also for a password reset), members' feedback
-- with its reply, and consent records.

-- 党委 / 联合党委 / 党总支 / 党支部 / 临时党支部 / 流动党员党支部 (see src/org.rs); `kind` stays what the app goes by.
ALTER TABLE orgs ADD COLUMN form TEXT NOT NULL DEFAULT '';
UPDATE orgs SET form = kind;
-- A temporary (project) branch's dates, `2026-03-01`.
ALTER TABLE orgs ADD COLUMN starts_on TEXT;
ALTER TABLE orgs ADD COLUMN ends_on TEXT;

-- 书记, 组织委员, 宣传委员 … as the department's roster names it ('' when none).
ALTER TABLE users ADD COLUMN post TEXT NOT NULL DEFAULT '';
-- 流动党员 / 挂职干部 / 干部, joined by '、' in that order ('' when none).
ALTER TABLE users ADD COLUMN tags TEXT NOT NULL DEFAULT '';
UPDATE users SET tags = '流动党员' WHERE mobile = 1;
-- An imported member has no password (password_hash = '') until they accept an invitation.

-- Only a SHA-256 of each code is kept. A newer invitation for the same person replaces the older one.
CREATE TABLE invitations (
    code_hash  TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX invitations_user ON invitations(user_id);

-- 投诉建议: keyed by the id the member's phone made; the reply comes from a district admin.
CREATE TABLE feedback (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    topic      TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    reply      TEXT,
    replied_by INTEGER REFERENCES users(id),
    replied_at INTEGER,
    server_seq INTEGER NOT NULL
);
CREATE INDEX feedback_user ON feedback(user_id, server_seq);
CREATE INDEX feedback_seq ON feedback(server_seq);

-- Every consent given or withdrawn, in order; the latest per kind is the one in force.
CREATE TABLE consents (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL CHECK (kind IN ('privacy', 'location')),
    granted    INTEGER NOT NULL,
    version    TEXT NOT NULL,
    at         INTEGER NOT NULL,
    record_id  TEXT
);
CREATE INDEX consents_user ON consents(user_id, kind, id);

-- 流动党员登记 (one per member while they are away): destination, employer or project, dates, the
-- 《流动党员活动证》, and when the branch last heard from them. Dates as `2026-03-01`.
CREATE TABLE mobile_registrations (
    user_id          INTEGER PRIMARY KEY REFERENCES users(id),
    destination      TEXT NOT NULL,
    employer         TEXT NOT NULL,
    starts_on        TEXT NOT NULL,
    ends_on          TEXT NOT NULL,
    card_no          TEXT NOT NULL,
    card_valid_until TEXT NOT NULL,
    last_contact_on  TEXT NOT NULL
);
