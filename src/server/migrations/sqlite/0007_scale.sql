-- A district of 100,000 members: reads that cost what they return.

-- The district view counts each activity's roster (应到, 实到, 待确认签到). Kept on the activity as its rows
-- change, by triggers (no code path can forget them), so the view reads one row per activity, not fifty.
ALTER TABLE activities ADD COLUMN expected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN present INTEGER NOT NULL DEFAULT 0;
ALTER TABLE activities ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;
UPDATE activities SET
    expected = (SELECT count(*) FROM attendance t WHERE t.activity_id = activities.id AND t.status != 'exempt'),
    present = (SELECT count(*) FROM attendance t WHERE t.activity_id = activities.id
               AND t.status IN ('signed_in', 'confirmed', 'online', 'made_up')),
    unconfirmed = (SELECT count(*) FROM attendance t WHERE t.activity_id = activities.id AND t.status = 'signed_in');

CREATE TRIGGER attendance_counted AFTER INSERT ON attendance BEGIN
    UPDATE activities SET
        expected = expected + (NEW.status != 'exempt'),
        present = present + (NEW.status IN ('signed_in', 'confirmed', 'online', 'made_up')),
        unconfirmed = unconfirmed + (NEW.status = 'signed_in')
    WHERE id = NEW.activity_id;
END;
CREATE TRIGGER attendance_recounted AFTER UPDATE OF status ON attendance WHEN OLD.status != NEW.status BEGIN
    UPDATE activities SET
        expected = expected - (OLD.status != 'exempt') + (NEW.status != 'exempt'),
        present = present - (OLD.status IN ('signed_in', 'confirmed', 'online', 'made_up'))
                          + (NEW.status IN ('signed_in', 'confirmed', 'online', 'made_up')),
        unconfirmed = unconfirmed - (OLD.status = 'signed_in') + (NEW.status = 'signed_in')
    WHERE id = NEW.activity_id;
END;
CREATE TRIGGER attendance_uncounted AFTER DELETE ON attendance BEGIN
    UPDATE activities SET
        expected = expected - (OLD.status != 'exempt'),
        present = present - (OLD.status IN ('signed_in', 'confirmed', 'online', 'made_up')),
        unconfirmed = unconfirmed - (OLD.status = 'signed_in')
    WHERE id = OLD.activity_id;
END;

-- Each person's last participation (the latest activity, not cancelled, where they were present; 0 and
-- NULL when none), for the list of members who have not taken part for a while: recomputed from their own
-- rows whenever it may change, and indexed by organisation so the list reads only the quiet.
ALTER TABLE users ADD COLUMN last_present TEXT;
ALTER TABLE users ADD COLUMN last_present_at INTEGER NOT NULL DEFAULT 0;
CREATE VIEW last_presence AS
    SELECT t.member_id, t.activity_id, a.starts_at FROM attendance t JOIN activities a ON a.id = t.activity_id
    WHERE t.status IN ('signed_in', 'confirmed', 'online', 'made_up') AND a.state != 'cancelled';
UPDATE users SET
    last_present = (SELECT activity_id FROM last_presence p WHERE p.member_id = users.id
                    ORDER BY p.starts_at DESC LIMIT 1),
    last_present_at = coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = users.id), 0);
CREATE INDEX users_org_present ON users(org_id, last_present_at);

CREATE TRIGGER presence_added AFTER INSERT ON attendance
WHEN NEW.status IN ('signed_in', 'confirmed', 'online', 'made_up') BEGIN
    UPDATE users SET
        last_present = (SELECT activity_id FROM last_presence p WHERE p.member_id = users.id
                        ORDER BY p.starts_at DESC LIMIT 1),
        last_present_at = coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = users.id), 0)
    WHERE id = NEW.member_id;
END;
CREATE TRIGGER presence_changed AFTER UPDATE OF status ON attendance
WHEN (OLD.status IN ('signed_in', 'confirmed', 'online', 'made_up'))
  != (NEW.status IN ('signed_in', 'confirmed', 'online', 'made_up')) BEGIN
    UPDATE users SET
        last_present = (SELECT activity_id FROM last_presence p WHERE p.member_id = users.id
                        ORDER BY p.starts_at DESC LIMIT 1),
        last_present_at = coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = users.id), 0)
    WHERE id = NEW.member_id;
END;
CREATE TRIGGER presence_removed AFTER DELETE ON attendance
WHEN OLD.status IN ('signed_in', 'confirmed', 'online', 'made_up') BEGIN
    UPDATE users SET
        last_present = (SELECT activity_id FROM last_presence p WHERE p.member_id = users.id
                        ORDER BY p.starts_at DESC LIMIT 1),
        last_present_at = coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = users.id), 0)
    WHERE id = OLD.member_id;
END;
CREATE TRIGGER presence_moved AFTER UPDATE OF state, starts_at ON activities
WHEN (OLD.state = 'cancelled') != (NEW.state = 'cancelled') OR OLD.starts_at != NEW.starts_at BEGIN
    UPDATE users SET
        last_present = (SELECT activity_id FROM last_presence p WHERE p.member_id = users.id
                        ORDER BY p.starts_at DESC LIMIT 1),
        last_present_at = coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = users.id), 0)
    WHERE id IN (SELECT member_id FROM attendance WHERE activity_id = NEW.id
                 AND status IN ('signed_in', 'confirmed', 'online', 'made_up'));
END;

-- The district view's activities by organisation and time, with everything it reads of them (the index
-- covers the query: no activity row is read).
CREATE INDEX activities_org_start
    ON activities(org_id, starts_at, state, kind, group_id, expected, present, unconfirmed);
-- The organisation tree walked downwards (every scope query).
CREATE INDEX orgs_parent ON orgs(parent_id);
