-- The district view and 完成情况 read people by organisation and audience, and each person's recognised
-- study, from indexes alone: no user or study row is read to count them.
CREATE INDEX users_org_audience ON users(org_id, audience, role);
CREATE INDEX study_records_user_status ON study_records(user_id, status);
-- Every index above that starts with org_id serves what this one did.
DROP INDEX users_org;
