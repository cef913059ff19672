-- A restore rewinds the server's history: rows stored after the backup are gone, and phones that pulled
-- them hold cursors past what the restored database has. A restore records each break: the restored
-- history ends at `kept_upto`, and the sequence resumes at `resumed_from`, a value no lost history can
-- have reached (see `db::break_history`). A phone whose cursor lies strictly between the two pulled from
-- the lost history and gets a full resync.
CREATE TABLE history_breaks (
    kept_upto BIGINT NOT NULL,
    resumed_from BIGINT NOT NULL,
    at BIGINT NOT NULL
);

-- Which history this database holds: a random number, made again by every restore. Phones send the one
-- their copy came from with each pull; another one means a resync, wherever their cursor stands. (Kept
-- below 2^53, so that JavaScript reads it exactly too.)
INSERT INTO counters (name, value) VALUES ('history', 1 + floor(random() * 9007199254740990)::bigint);
