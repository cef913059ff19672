-- A restore rewinds the server's history: rows stored after the backup are gone, and phones that pulled
-- them hold cursors past what the restored database has. `hongyan restore` records each break: the
-- restored history ends at `kept_upto`, and the sequence resumes at `resumed_from`, a value no lost
-- history can have reached (see `db::resumed_from`), so rows stored after the restore reach those phones.
CREATE TABLE history_breaks (
    kept_upto INTEGER NOT NULL,
    resumed_from INTEGER NOT NULL,
    at INTEGER NOT NULL
);

-- Which history this database holds: a random number, made again by every restore, so that a copy of
-- one history is told from a copy of another. (Kept below 2^53, so that JavaScript reads it exactly too.)
INSERT INTO counters (name, value) VALUES ('history', 1 + abs(random() % 9007199254740990));
