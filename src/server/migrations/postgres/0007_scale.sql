-- A district of 100,000 members: reads that cost what they return.

-- The district view counts each activity's roster (应到, 实到, 待确认签到). Kept on the activity as its rows
-- change, by triggers (no code path can forget them), so the view reads one row per activity, not fifty.
ALTER TABLE activities ADD COLUMN expected BIGINT NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN present BIGINT NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN unconfirmed BIGINT NOT NULL DEFAULT 0;
UPDATE activities SET
    expected = (SELECT count(*) FROM attendance t WHERE t.activity_id = activities.id AND t.status != 'exempt'),
    present = (SELECT count(*) FROM attendance t WHERE t.activity_id = activities.id
               AND t.status IN ('signed_in', 'confirmed', 'online', 'made_up')),
    unconfirmed = (SELECT count(*) FROM attendance t WHERE t.activity_id = activities.id AND t.status = 'signed_in');

-- Whether a roster status counts as 实到.
CREATE FUNCTION is_present(status TEXT) RETURNS BOOLEAN LANGUAGE sql IMMUTABLE
    RETURN status IN ('signed_in', 'confirmed', 'online', 'made_up');

CREATE FUNCTION attendance_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE activities SET
            expected = expected + (NEW.status != 'exempt')::int,
            present = present + is_present(NEW.status)::int,
            unconfirmed = unconfirmed + (NEW.status = 'signed_in')::int
        WHERE id = NEW.activity_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE activities SET
            expected = expected - (OLD.status != 'exempt')::int + (NEW.status != 'exempt')::int,
            present = present - is_present(OLD.status)::int + is_present(NEW.status)::int,
            unconfirmed = unconfirmed - (OLD.status = 'signed_in')::int + (NEW.status = 'signed_in')::int
        WHERE id = NEW.activity_id;
    ELSE
        UPDATE activities SET
            expected = expected - (OLD.status != 'exempt')::int,
            present = present - is_present(OLD.status)::int,
            unconfirmed = unconfirmed - (OLD.status = 'signed_in')::int
        WHERE id = OLD.activity_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER attendance_counted AFTER INSERT ON attendance
    FOR EACH ROW EXECUTE FUNCTION attendance_count();
CREATE TRIGGER attendance_recounted AFTER UPDATE OF status ON attendance
    FOR EACH ROW WHEN (OLD.status != NEW.status) EXECUTE FUNCTION attendance_count();
CREATE TRIGGER attendance_uncounted AFTER DELETE ON attendance
    FOR EACH ROW EXECUTE FUNCTION attendance_count();

-- Each person's last participation (the latest activity, not cancelled, where they were present; 0 and
-- NULL when none), for the list of members who have not taken part for a while: recomputed from their own
-- rows whenever it may change, and indexed by organisation so the list reads only the quiet.
ALTER TABLE users ADD COLUMN last_present TEXT;
ALTER TABLE users ADD COLUMN last_present_at BIGINT NOT NULL DEFAULT 0;
CREATE VIEW last_presence AS
    SELECT t.member_id, t.activity_id, a.starts_at FROM attendance t JOIN activities a ON a.id = t.activity_id
    WHERE is_present(t.status) AND a.state != 'cancelled';

-- Recomputes the last participation of the people `member` selects.
CREATE FUNCTION refresh_presence(members BIGINT[]) RETURNS void LANGUAGE sql AS $$
    UPDATE users SET
        last_present = (SELECT activity_id FROM last_presence p WHERE p.member_id = users.id
                        ORDER BY p.starts_at DESC LIMIT 1),
        last_present_at = coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = users.id), 0)
    WHERE id = ANY (members)
$$;
SELECT refresh_presence(array(SELECT id FROM users));
CREATE INDEX users_org_present ON users(org_id, last_present_at);

CREATE FUNCTION presence_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'activities' THEN
        PERFORM refresh_presence(array(SELECT member_id FROM attendance
                                       WHERE activity_id = NEW.id AND is_present(status)));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_presence(ARRAY[OLD.member_id]);
    ELSE
        PERFORM refresh_presence(ARRAY[NEW.member_id]);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER presence_added AFTER INSERT ON attendance
    FOR EACH ROW WHEN (is_present(NEW.status)) EXECUTE FUNCTION presence_change();
CREATE TRIGGER presence_changed AFTER UPDATE OF status ON attendance
    FOR EACH ROW WHEN (is_present(OLD.status) != is_present(NEW.status)) EXECUTE FUNCTION presence_change();
CREATE TRIGGER presence_removed AFTER DELETE ON attendance
    FOR EACH ROW WHEN (is_present(OLD.status)) EXECUTE FUNCTION presence_change();
CREATE TRIGGER presence_moved AFTER UPDATE OF state, starts_at ON activities
    FOR EACH ROW WHEN ((OLD.state = 'cancelled') != (NEW.state = 'cancelled') OR OLD.starts_at != NEW.starts_at)
    EXECUTE FUNCTION presence_change();

-- The district view's activities by organisation and time, with everything it reads of them (the index
-- covers the query: no activity row is read).
CREATE INDEX activities_org_start
    ON activities(org_id, starts_at, state, kind, group_id, expected, present, unconfirmed);
-- The organisation tree walked downwards (every scope query).
CREATE INDEX orgs_parent ON orgs(parent_id);
