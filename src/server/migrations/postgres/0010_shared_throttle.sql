-- Guessing counted in the database (see server/throttle.rs): used when several servers share one
-- PostgreSQL database; a SQLite server counts in its memory, but the schema is the same on both engines.
-- One row per key (a phone number, a network, an account …) and one, '*', whose lock serialises the
-- server-wide budget; and when each recent failure of an unknown caller happened.
CREATE TABLE throttle (
    key      TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last     BIGINT NOT NULL
);
CREATE TABLE throttle_failures (
    at BIGINT NOT NULL
);
CREATE INDEX throttle_failures_at ON throttle_failures(at);
-- Keys nobody has tried for a while are removed by age.
CREATE INDEX throttle_last ON throttle(last);
