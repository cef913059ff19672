-- Organisational life, complete: the rotating 签到码, modes, cancelling and closing the record, leave and
-- make-up requests, the lead's decisions, guests from other branches and approved exemptions.

-- The secret of the rotating code; '' for activities published by version 1, which keep their fixed `code`.
ALTER TABLE activities ADD COLUMN secret TEXT NOT NULL DEFAULT '';
ALTER TABLE activities ADD COLUMN code_step_ms INTEGER NOT NULL DEFAULT 60000;
ALTER TABLE activities ADD COLUMN mode TEXT NOT NULL DEFAULT 'offline'
    CHECK (mode IN ('offline', 'online', 'hybrid'));
ALTER TABLE activities ADD COLUMN state TEXT NOT NULL DEFAULT 'open'
    CHECK (state IN ('open', 'cancelled', 'closed'));
ALTER TABLE activities ADD COLUMN cancel_reason TEXT;
-- The closed record: 主持人, 记录人, others who joined online; counts and names come from attendance.
ALTER TABLE activities ADD COLUMN host TEXT;
ALTER TABLE activities ADD COLUMN recorder TEXT;
ALTER TABLE activities ADD COLUMN online_note TEXT;
ALTER TABLE activities ADD COLUMN closed_at INTEGER;
-- The opt-in location fence (WGS-84, degrees × 10⁶), if the lead set one.
ALTER TABLE activities ADD COLUMN fence_lat_e6 INTEGER;
ALTER TABLE activities ADD COLUMN fence_lng_e6 INTEGER;
ALTER TABLE activities ADD COLUMN fence_radius_m INTEGER;

-- A sign-in whose code did not match the claimed time: kept 待确认, flagged for the lead.
ALTER TABLE attendance ADD COLUMN code_unverified INTEGER NOT NULL DEFAULT 0;
-- A location sign-in: only inside/outside, distance and accuracy (never a coordinate of the member).
ALTER TABLE attendance ADD COLUMN location_inside INTEGER;
ALTER TABLE attendance ADD COLUMN location_distance_m INTEGER;
ALTER TABLE attendance ADD COLUMN location_accuracy_m INTEGER;
-- Attending a host branch (一方隶属、多重组织生活): no vote there.
ALTER TABLE attendance ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
-- The member's reason for leave or make-up, or the lead's 缺席原因 / reason for a refusal.
ALTER TABLE attendance ADD COLUMN reason TEXT;
ALTER TABLE attendance ADD COLUMN category TEXT;
-- The lead's reason for refusing a request or a sign-in, shown to the member.
ALTER TABLE attendance ADD COLUMN lead_note TEXT;
-- What the member recorded as 补学.
ALTER TABLE attendance ADD COLUMN study TEXT;
ALTER TABLE attendance ADD COLUMN decided_by INTEGER REFERENCES users(id);
ALTER TABLE attendance ADD COLUMN decided_at INTEGER;

-- Branches a member attends besides their home branch; they are on those branches' rosters as guests.
CREATE TABLE host_orgs (
    user_id INTEGER NOT NULL REFERENCES users(id),
    org_id  INTEGER NOT NULL REFERENCES orgs(id),
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX host_orgs_org ON host_orgs(org_id);

-- Approved exemptions (illness, maternity, elderly, abroad): 免参加 on rosters frozen while they last.
CREATE TABLE exemptions (
    user_id  INTEGER NOT NULL REFERENCES users(id),
    reason   TEXT NOT NULL,
    until_at INTEGER NOT NULL
);
CREATE INDEX exemptions_user ON exemptions(user_id);

