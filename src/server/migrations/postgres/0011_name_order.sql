-- Names listed in pinyin order on both engines: each person's sort key, made by the server
-- (db::name_key) when the name is written; '' until the server fills it in for rows made before.
-- Compared byte by byte, as SQLite compares it.
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
