-- The settings phones receive (api::Settings: the 签到码 step, the 补签 window, how far back an activity
-- may be recorded, the quiet list, the unsent-records warning): one value for every server, set by the
-- district admin. One row, as the API writes it; none yet means the server's options at its first start
-- (server::settings::adopt), or the defaults.
CREATE TABLE district_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    settings   TEXT NOT NULL,
    updated_by INTEGER REFERENCES users(id),
    updated_at INTEGER NOT NULL
);
