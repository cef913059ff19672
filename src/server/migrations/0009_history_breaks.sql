-- A restore rewinds the server's history: rows stored after the backup are gone, and phones that pulled
-- them hold cursors past what the restored database has. `hongyan restore` records each break: the
-- restored history ends at `kept_upto`, and the sequence resumes at `resumed_from`, a value no lost
-- history can have reached (see `db::break_history`). A phone whose cursor lies strictly between the two
-- pulled from the lost history and gets a full resync.
CREATE TABLE history_breaks (
    kept_upto INTEGER NOT NULL,
    resumed_from INTEGER NOT NULL,
    at INTEGER NOT NULL
);
