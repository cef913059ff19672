-- The study ledger: each person's audience for the 学时 requirements, activities that carry 学时, study
-- records with their review, evidence photos, and the district's study rules.

ALTER TABLE users ADD COLUMN audience TEXT NOT NULL DEFAULT 'member'
    CHECK (audience IN ('member', 'secretary', 'township', 'county'));
UPDATE users SET audience = 'secretary' WHERE role = 'lead';

-- 学时 (in halves) a confirmed attendance earns.
ALTER TABLE activities ADD COLUMN study_halves BIGINT NOT NULL DEFAULT 0;

-- One row per record, keyed by the id its author's phone made (or `activity-<activity>-<member>` for the
-- record a confirmed attendance creates). 学时 are stored in halves.
CREATE TABLE study_records (
    id          TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    organiser   TEXT NOT NULL DEFAULT '',
    starts_on   TEXT NOT NULL,
    ends_on     TEXT NOT NULL,
    hours       BIGINT NOT NULL,
    days        BIGINT,
    programme   TEXT,
    notes       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'recognised', 'returned', 'withdrawn')),
    credited    BIGINT NOT NULL DEFAULT 0,
    comment     TEXT NOT NULL DEFAULT '',
    reviewed_by BIGINT REFERENCES users(id),
    reviewed_at BIGINT,
    activity_id TEXT REFERENCES activities(id),
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    server_seq  BIGINT NOT NULL
);
CREATE INDEX study_records_user ON study_records(user_id, server_seq);
CREATE INDEX study_records_seq ON study_records(server_seq);

-- The optional photo of a certificate, as the small JPEG data URL the phone made.
CREATE TABLE study_evidence (
    study_id    TEXT PRIMARY KEY REFERENCES study_records(id),
    data_url    TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);

-- The district's study rules (one row, JSON of `study::StudyRules`); absent means the defaults.
CREATE TABLE study_rules (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    rules      TEXT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
