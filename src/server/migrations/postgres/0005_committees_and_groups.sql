-- Committee admins (党委管理员, role 'committee': they administer their 党委's part of the tree) and 党小组
-- (kind 'group', below a branch). PostgreSQL widens a CHECK in place (SQLite rebuilds the tables).

ALTER TABLE orgs DROP CONSTRAINT orgs_kind;
ALTER TABLE orgs ADD CONSTRAINT orgs_kind CHECK (kind IN ('department', 'committee', 'branch', 'group'));

ALTER TABLE users DROP CONSTRAINT users_role;
ALTER TABLE users ADD CONSTRAINT users_role CHECK (role IN ('member', 'lead', 'committee', 'admin'));
-- The 党小组 of their branch a member belongs to, if the branch has groups.
ALTER TABLE users ADD COLUMN group_id BIGINT REFERENCES orgs(id);
-- A committee admin whose access a district admin withdrew: no password, no sessions, kept for the record.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
CREATE INDEX users_group ON users(group_id) WHERE group_id IS NOT NULL;

-- A 党小组会 is the branch's activity with its group's members on the roster.
ALTER TABLE activities ADD COLUMN group_id BIGINT REFERENCES orgs(id);
