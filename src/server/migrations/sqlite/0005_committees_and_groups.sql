-- Committee admins (党委管理员, role 'committee': they administer their 党委's part of the tree) and 党小组
-- (kind 'group', below a branch). SQLite cannot widen a CHECK constraint, so `orgs` and `users` are rebuilt
-- the way https://www.sqlite.org/lang_altertable.html#otheralter describes: copy, drop, rename, indexes
-- again. Migrations run with foreign keys off for this (see `Db::open`), which then checks them all.
-- The data does not change.

CREATE TABLE orgs_rebuilt (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES orgs(id),
    name      TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('department', 'committee', 'branch', 'group')),
    form      TEXT NOT NULL DEFAULT '',
    starts_on TEXT,
    ends_on   TEXT
);
INSERT INTO orgs_rebuilt (id, parent_id, name, kind, form, starts_on, ends_on)
    SELECT id, parent_id, name, kind, form, starts_on, ends_on FROM orgs;
DROP TABLE orgs;
ALTER TABLE orgs_rebuilt RENAME TO orgs;

CREATE TABLE users_rebuilt (
    id            INTEGER PRIMARY KEY,
    phone         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('member', 'lead', 'committee', 'admin')),
    org_id        INTEGER NOT NULL REFERENCES orgs(id),
    membership    TEXT NOT NULL DEFAULT 'full' CHECK (membership IN ('full', 'probationary')),
    mobile        INTEGER NOT NULL DEFAULT 0,
    programme     TEXT,
    created_at    INTEGER NOT NULL,
    audience      TEXT NOT NULL DEFAULT 'member'
        CHECK (audience IN ('member', 'secretary', 'township', 'county')),
    post          TEXT NOT NULL DEFAULT '',
    tags          TEXT NOT NULL DEFAULT '',
    -- The 党小组 of their branch a member belongs to, if the branch has groups.
    group_id      INTEGER REFERENCES orgs(id),
    -- A committee admin whose access a district admin withdrew: no password, no sessions, kept for the record.
    disabled_at   INTEGER
);
INSERT INTO users_rebuilt (id, phone, name, password_hash, role, org_id, membership, mobile, programme,
                           created_at, audience, post, tags)
    SELECT id, phone, name, password_hash, role, org_id, membership, mobile, programme,
           created_at, audience, post, tags FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;
CREATE INDEX users_org ON users(org_id);
CREATE INDEX users_group ON users(group_id) WHERE group_id IS NOT NULL;

-- A 党小组会 is the branch's activity with its group's members on the roster.
ALTER TABLE activities ADD COLUMN group_id INTEGER REFERENCES orgs(id);

