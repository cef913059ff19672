//! The database — a SQLite file, or PostgreSQL shared by several servers (queries for both go through
//! [`engine`]): opening it, migrating it, and the server sequence.
//!
//! Writes go through a pool of exactly one connection. SQLite allows one writer at a time anyway; queuing
//! writers in the process (instead of in SQLite's busy handler) means a transaction never fails with
//! SQLITE_BUSY, and it makes the server sequence commit in order — a pull that has seen sequence N has seen
//! everything before N. On PostgreSQL, [`Sequence::begin`]'s lock keeps that order across servers. Reads
//! use their own pool and, thanks to WAL (or PostgreSQL's snapshots), never wait for the writer.

pub mod engine;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};

pub use engine::{Conn, Engine, Pool, Tx, query, query_as, query_scalar};

#[derive(Clone)]
pub struct Db {
    /// Exactly one connection: every write transaction starts here.
    pub writer: Pool,
    pub reader: Pool,
    /// The guessing counts' own connections (PostgreSQL; see throttle.rs), so that a flood of guesses
    /// can neither take the readers nor wait for them.
    pub throttle: Pool,
    /// Which history the database holds (see [`break_history`]): only a restore changes it, and a restore
    /// needs the server stopped, so it is read once here.
    pub history: i64,
}

impl Db {
    /// Opens the database at `location`: a SQLite file (created and migrated if need be), or a PostgreSQL
    /// database that `hongyan migrate` has brought up to date.
    pub async fn connect(location: &Location) -> Result<Db, sqlx::Error> {
        match location {
            Location::File(path) => Db::open(path).await,
            Location::Postgres(url) => {
                // No parallel workers: their start costs more than these index searches. (The pulls'
                // statements fix their own order — see `attendance_since_sql` — so that the plan
                // PostgreSQL caches for any values after five runs searches indexes too.)
                let options = PgConnectOptions::from_str(url)?
                    .options([("max_parallel_workers_per_gather", "0")]);
                let mut conn = PgConnection::connect_with(&options).await?;
                let migrator = sqlx::migrate!("src/server/migrations/postgres");
                let behind = refuse_newer(&migrator, location, &mut conn).await?;
                conn.close().await?;
                if behind {
                    return Err(sqlx::Error::Protocol(format!(
                        "{location}: the database lacks migrations this release needs: run `hongyan migrate` first"
                    )));
                }
                // One writer connection per server, as on SQLite: its transactions commit in order.
                let writer = PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options.clone())
                    .await?;
                let reader = PgPoolOptions::new()
                    .max_connections(8)
                    .connect_with(options.clone())
                    .await?;
                let throttle = PgPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await?;
                let (writer, reader) = (Pool::Postgres(writer), Pool::Postgres(reader));
                fill_name_keys(&writer).await?;
                let history = query_scalar("SELECT value FROM counters WHERE name = 'history'")
                    .fetch_one(&reader)
                    .await?;
                Ok(Db {
                    writer,
                    reader,
                    throttle: Pool::Postgres(throttle),
                    history,
                })
            }
        }
    }

    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Db, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a receipt is only sent for a commit that survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // 32 MiB of pages per connection (SQLite's default is 2 MiB): a district's indexes stay in
            // memory instead of being read back through the kernel on every lookup.
            .pragma("cache_size", "-32768")
            .busy_timeout(Duration::from_secs(10));
        // Migrations run on a connection of their own with foreign keys off: SQLite widens a CHECK only by
        // rebuilding the table, and sqlx runs each migration inside a transaction, where foreign keys cannot
        // be switched off. When a migration ran, every reference is checked afterwards (a full scan, so not
        // on an ordinary start).
        let mut migrating =
            SqliteConnection::connect_with(&options.clone().foreign_keys(false)).await?;
        let migrator = sqlx::migrate!("src/server/migrations/sqlite");
        let behind = refuse_newer(&migrator, &Location::File(path.into()), &mut migrating).await?;
        migrator.run(&mut migrating).await?;
        // SQLite's statistics of the tables and indexes, refreshed where they are missing or stale (with a
        // bounded sample: well under a second for a district's 2 GB), so the query planner knows a
        // district's tables for what they are. Every read's plan is tested with and without them.
        query("PRAGMA optimize=0x10002")
            .execute(&mut migrating)
            .await?;
        let dangling: Vec<(String, i64)> = if behind {
            query_as("SELECT \"table\", rowid FROM pragma_foreign_key_check")
                .fetch_all(&mut migrating)
                .await?
        } else {
            Vec::new()
        };
        migrating.close().await?;
        if let Some((table, row)) = dangling.first() {
            return Err(sqlx::Error::Protocol(format!(
                "after migrating, {} rows refer to missing rows (first: {table} row {row})",
                dangling.len()
            )));
        }
        // No health check when a connection is taken from a pool: an embedded database has no network
        // to lose, and the check (a round trip to the connection's thread) cost as much as a query.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let (writer, reader) = (Pool::Sqlite(writer), Pool::Sqlite(reader));
        fill_name_keys(&writer).await?;
        let history = query_scalar("SELECT value FROM counters WHERE name = 'history'")
            .fetch_one(&reader)
            .await?;
        Ok(Db {
            throttle: reader.clone(),
            writer,
            reader,
            history,
        })
    }
}

/// Where the database is: a SQLite file, or a PostgreSQL server (`postgres://…` or `postgresql://…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Postgres(String),
}

impl FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            if s.starts_with("postgres://") || s.starts_with("postgresql://") {
                Location::Postgres(s.to_owned())
            } else {
                Location::File(s.into())
            },
        )
    }
}

impl std::fmt::Display for Location {
    /// The file, or the server and database without the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => match PgConnectOptions::from_str(url) {
                Ok(o) => write!(
                    f,
                    "postgres://{}@{}:{}/{}",
                    o.get_username(),
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                ),
                Err(_) => f.write_str("postgres://…"),
            },
        }
    }
}

impl Location {
    /// The SQLite file, for `hongyan backup` and `restore`: on PostgreSQL, its own tools do that.
    pub fn file(&self) -> Result<&Path, String> {
        match self {
            Location::File(path) => Ok(path),
            Location::Postgres(_) => Err("on PostgreSQL, back up and restore with its own tools \
                 (pg_dump and pg_restore, or a base backup with WAL archiving): see the README, \
                 \"Running several servers\""
                .to_owned()),
        }
    }
}

/// Refuses a database whose schema is newer than this release knows (a newer release migrated it: run
/// that one); answers whether it is behind. A new database, with no migrations table yet, is behind.
async fn refuse_newer(
    migrator: &Migrator,
    location: &Location,
    conn: &mut dyn Conn,
) -> Result<bool, sqlx::Error> {
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: i64 =
        engine::query_scalar::<Option<i64>>("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(conn)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
    if applied > known {
        return Err(sqlx::Error::Protocol(format!(
            "{location}: the database's schema (migration {applied}) is newer than this release knows \
             ({known}); a newer release migrated it: run that release"
        )));
    }
    Ok(applied < known)
}

/// Applies the migrations a PostgreSQL database lacks (`hongyan migrate`, the deploy step: app servers do
/// not migrate as they start, since several start at once). sqlx holds an advisory lock while it
/// migrates, so two at once do not both apply one. Answers how many migrations the database has.
pub async fn migrate_postgres(location: &Location) -> Result<i64, sqlx::Error> {
    let Location::Postgres(url) = location else {
        return Err(sqlx::Error::Configuration(
            "not a PostgreSQL address".into(),
        ));
    };
    let mut conn = PgConnection::connect_with(&PgConnectOptions::from_str(url)?).await?;
    let migrator = sqlx::migrate!("src/server/migrations/postgres");
    refuse_newer(&migrator, location, &mut conn).await?;
    migrator.run(&mut conn).await?;
    let applied = engine::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(applied)
}

/// A one-row table the district admin sets as a whole, kept as JSON (`study_rules`, `district_settings`:
/// `id` 1, the value, who set it and when).
#[derive(Clone, Copy)]
pub struct Single {
    pub table: &'static str,
    pub column: &'static str,
}

impl Single {
    /// The stored value, or the default when there is none or it cannot be read (which is logged).
    pub async fn load<T: serde::de::DeserializeOwned + Default>(
        self,
        conn: &mut dyn Conn,
    ) -> Result<T, sqlx::Error> {
        let Single { table, column } = self;
        let json: Option<String> =
            query_scalar(&format!("SELECT {column} FROM {table} WHERE id = 1"))
                .fetch_optional(conn)
                .await?;
        Ok(json
            .and_then(|j| {
                serde_json::from_str(&j)
                    .inspect_err(|e| tracing::error!("stored {table} unreadable: {e}"))
                    .ok()
            })
            .unwrap_or_default())
    }

    /// Stores `value` as set by `by` at `at`; with `keep`, only where nothing is stored yet. Answers the
    /// JSON written (for the audit log).
    pub async fn save<T: serde::Serialize>(
        self,
        conn: &mut dyn Conn,
        value: &T,
        by: Option<i64>,
        at: i64,
        keep: bool,
    ) -> Result<String, sqlx::Error> {
        let Single { table, column } = self;
        let json = serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let conflict = if keep {
            "DO NOTHING".to_owned()
        } else {
            format!(
                "DO UPDATE SET {column} = excluded.{column}, updated_by = excluded.updated_by,
                               updated_at = excluded.updated_at"
            )
        };
        query(&format!(
            "INSERT INTO {table} (id, {column}, updated_by, updated_at) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) {conflict}"
        ))
        .bind(&json)
        .bind(by)
        .bind(at)
        .execute(conn)
        .await?;
        Ok(json)
    }
}

/// Takes the next server sequence number. Call only inside a write transaction.
pub async fn next_seq(conn: &mut dyn Conn) -> Result<i64, sqlx::Error> {
    query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'server_seq' RETURNING value")
        .fetch_one(conn)
        .await
}

/// `HONGYAN_UNSAFE_NO_WRITER_LOCK=1` turns the lock of [`Sequence::begin`] off, in debug builds only: the
/// proof that the fault harness catches what the lock prevents.
fn writer_lock_off() -> bool {
    cfg!(debug_assertions) && std::env::var("HONGYAN_UNSAFE_NO_WRITER_LOCK").is_ok_and(|v| v == "1")
}

/// Server sequence numbers handed out within one write transaction: read once, written back once by
/// [`Sequence::save`], and taken only for changes that really happen (a duplicate takes none).
pub struct Sequence {
    last: i64,
    saved: i64,
}

impl Sequence {
    /// Reads where the sequence stands, at the start of a write transaction.
    ///
    /// Writes commit in sequence order, so that a pull that has seen number N has seen everything
    /// before N. On SQLite the one writer connection keeps that order. On PostgreSQL, several servers
    /// write at once: the counter's row is locked (`FOR UPDATE`) until the transaction ends, so each
    /// transaction that takes numbers waits for the one before it to commit and then reads the
    /// number it left.
    pub async fn begin(conn: &mut dyn Conn) -> Result<Sequence, sqlx::Error> {
        let lock = if conn.engine() == Engine::Postgres && !writer_lock_off() {
            " FOR UPDATE"
        } else {
            ""
        };
        let last = query_scalar(&format!(
            "SELECT value FROM counters WHERE name = 'server_seq'{lock}"
        ))
        .fetch_one(conn)
        .await?;
        Ok(Sequence { last, saved: last })
    }

    /// The number the next change will get, without taking it.
    pub fn peek(&self) -> i64 {
        self.last + 1
    }

    pub fn take(&mut self) -> i64 {
        self.last += 1;
        self.last
    }

    /// Where the sequence stands, to [`Sequence::rewind`] to if what took numbers since is rolled back.
    pub fn mark(&self) -> i64 {
        self.last
    }

    /// Gives back the numbers taken since `mark` (their rows were rolled back), so none is left unused.
    pub fn rewind(&mut self, mark: i64) {
        self.last = mark;
    }

    /// Writes the numbers taken back to the counter; call before committing.
    pub async fn save(self, conn: &mut dyn Conn) -> Result<(), sqlx::Error> {
        if self.last != self.saved {
            query("UPDATE counters SET value = $1 WHERE name = 'server_seq'")
                .bind(self.last)
                .execute(conn)
                .await?;
        }
        Ok(())
    }
}

/// Where the server sequence resumes after a restore: the time in microseconds.
///
/// Every history keeps its counter at or below the time in microseconds: a new database starts at 0 and
/// takes one number per change, a restore resumes at the time (by induction, the counter at any moment is at
/// most the last resume plus the changes since, and no server stores a million changes a second). So
/// a restore resumes past every number the history it replaces can have handed out: a phone that pulled
/// from that history, whose cursor lies between the restored counter and the resumed one (table
/// `history_breaks`), is still sent every row stored after the restore.
///
/// `None` when the clock is not past the restored counter: it was set back since an earlier restore of
/// this history, and resuming anywhere could reuse numbers phones already hold.
pub fn resumed_from(kept_upto: i64, now: i64) -> Option<i64> {
    let resumed = now.saturating_mul(1_000);
    (resumed > kept_upto).then_some(resumed)
}

/// Marks the database as a restored copy: records where its history ends, moves the sequence on to
/// [`resumed_from`] and gives the history a new id (phones that pulled from another history resync).
/// Answers where the history ends and where it resumes.
pub async fn break_history(conn: &mut dyn Conn, now: i64) -> Result<(i64, i64), sqlx::Error> {
    let mut tx = conn.begin().await?;
    // Read as a write that takes numbers reads it (locked on PostgreSQL: no server takes one meanwhile).
    let kept = Sequence::begin(&mut *tx).await?.mark();
    let resumed = resumed_from(kept, now).ok_or_else(|| {
        sqlx::Error::Protocol(format!(
            "this machine's clock ({now} ms) is behind the restored history (sequence {kept}): \
             set the clock right, then restore again"
        ))
    })?;
    query("INSERT INTO history_breaks (kept_upto, resumed_from, at) VALUES ($1, $2, $3)")
        .bind(kept)
        .bind(resumed)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    query("UPDATE counters SET value = $1 WHERE name = 'server_seq'")
        .bind(resumed)
        .execute(&mut *tx)
        .await?;
    // Below 2^53, so that JavaScript reads it exactly too.
    let history = 1 + (rand::random::<u64>() % 9_007_199_254_740_990) as i64;
    query("UPDATE counters SET value = $1 WHERE name = 'history'")
        .bind(history)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((kept, resumed))
}

/// A `WITH` clause naming `scope(id)`: the organisation bound as `$1` and everything below it (the whole
/// district when `$1` is NULL).
pub const ORG_SCOPE: &str = "WITH RECURSIVE scope(id) AS (
        SELECT id FROM orgs WHERE ($1 IS NULL AND parent_id IS NULL) OR id = $1
        UNION SELECT o.id FROM orgs o JOIN scope up ON o.parent_id = up.id)";

pub use crate::api::LIST_PAGE;

/// A `WITH` clause naming `tree(id, path)`: like [`ORG_SCOPE`], with each organisation's path from the root
/// as fixed-width ids, so that `ORDER BY path` is the tree order of [`scope_orgs`].
pub fn org_tree(engine: Engine) -> String {
    let (id, child) = (engine.padded("id"), engine.padded("o.id"));
    format!(
        "WITH RECURSIVE tree(id, path) AS (
            SELECT id, {id} FROM orgs WHERE ($1 IS NULL AND parent_id IS NULL) OR id = $1
            UNION ALL SELECT o.id, tree.path || {child} FROM orgs o JOIN tree ON o.parent_id = tree.id)"
    )
}

/// The organisation `root` (`None`: the district's root) and everything below it, in tree order: each
/// organisation followed by those below it, siblings by id (a committee's branches together, as the
/// department's own lists have them).
pub async fn scope_orgs(conn: &mut dyn Conn, root: Option<i64>) -> Result<Vec<i64>, sqlx::Error> {
    let tree = org_tree(conn.engine());
    query_scalar(&format!("{tree} SELECT id FROM tree ORDER BY path"))
        .bind(root)
        .fetch_all(conn)
        .await
}

/// Where a page of whole organisations (from [`scope_orgs`]) resumes: at `from`, the first organisation
/// the previous page did not show. A cursor no longer in the scope (an organisation moved elsewhere since)
/// resumes at the end rather than showing the list again from the top.
pub fn resume_at(orgs: &[i64], from: Option<i64>) -> usize {
    from.map_or(0, |from| {
        orgs.iter().position(|&o| o == from).unwrap_or(orgs.len())
    })
}

/// `IN (…)`: the organisation bound at `param` (`$2`, say) and everything below it.
pub fn in_subtree(param: &str) -> String {
    format!(
        "IN (WITH RECURSIVE sub(id) AS (SELECT {param} UNION SELECT o.id FROM orgs o JOIN sub up ON o.parent_id = up.id)
             SELECT id FROM sub)"
    )
}

/// Whether `org` is `root` or below it.
pub async fn within(conn: &mut dyn Conn, root: i64, org: i64) -> Result<bool, sqlx::Error> {
    query_scalar(&format!("SELECT $1 {}", in_subtree("$2")))
        .bind(org)
        .bind(root)
        .fetch_one(conn)
        .await
}

/// A branch's 党小组, in the order they were made.
pub async fn groups_of(
    conn: &mut dyn Conn,
    branch: i64,
) -> Result<Vec<crate::api::OrgRef>, sqlx::Error> {
    let rows: Vec<(i64, String)> =
        query_as("SELECT id, name FROM orgs WHERE parent_id = $1 AND kind = 'group' ORDER BY id")
            .bind(branch)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| crate::api::OrgRef { id, name })
        .collect())
}

/// Whether `group` is a 党小组 of `branch`.
pub async fn is_group_of(
    conn: &mut dyn Conn,
    group: i64,
    branch: i64,
) -> Result<bool, sqlx::Error> {
    query_scalar(
        "SELECT EXISTS (SELECT 1 FROM orgs WHERE id = $1 AND kind = 'group' AND parent_id = $2)",
    )
    .bind(group)
    .bind(branch)
    .fetch_one(conn)
    .await
}

/// Records a lead's or admin's action for the audit trail; `about` is the person it concerns (they find
/// it in 我的信息).
pub async fn audit(
    conn: &mut dyn Conn,
    at: i64,
    actor_id: i64,
    action: &str,
    subject: &str,
    about: Option<i64>,
) -> Result<(), sqlx::Error> {
    audit_row(conn, at, actor_id, action, subject, about, None).await
}

/// [`audit`], for an action that arrived in a file of records someone else (`imported_by`) carried in.
pub async fn audit_row(
    conn: &mut dyn Conn,
    at: i64,
    actor_id: i64,
    action: &str,
    subject: &str,
    about: Option<i64>,
    imported_by: Option<i64>,
) -> Result<(), sqlx::Error> {
    query(
        "INSERT INTO audit_log (at, actor_id, action, subject, about_user, imported_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor_id)
    .bind(action)
    .bind(subject)
    .bind(about)
    .bind(imported_by)
    .execute(conn)
    .await
    .map(|_| ())
}

/// After rows of `table` were inserted with their ids given: the next id the database makes follows
/// them. (SQLite's rowid does by itself; PostgreSQL's identity column keeps its own counter.)
pub async fn ids_given(conn: &mut dyn Conn, table: &str) -> Result<(), sqlx::Error> {
    if conn.engine() == Engine::Postgres {
        query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
        ))
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// How a person's name sorts (`users.name_key`): by pinyin with tone numbers, syllable by syllable (what
/// Chinese users expect of a list of names), then, between names that read alike, by the characters
/// themselves. Plain ASCII up to the `\u{1}` before the name, compared byte by byte on both engines
/// (SQLite's default, PostgreSQL's `COLLATE "C"` on the column), so the order is the same on both.
pub fn name_key(name: &str) -> String {
    use pinyin::ToPinyin;
    let mut key = String::with_capacity(name.len() * 3);
    for (c, reading) in name.chars().zip(name.to_pinyin()) {
        if !key.is_empty() {
            key.push(' ');
        }
        match reading {
            Some(p) => key.push_str(p.with_tone_num_end()),
            None => key.extend(c.to_lowercase()),
        }
    }
    key.push('\u{1}');
    key.push_str(name);
    key
}

/// Gives every person whose name has no sort key yet (rows from before the key, made by an older
/// release) their key.
pub async fn fill_name_keys(pool: &Pool) -> Result<(), sqlx::Error> {
    let missing: Vec<(i64, String)> = query_as("SELECT id, name FROM users WHERE name_key = ''")
        .fetch_all(pool)
        .await?;
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    for (id, name) in missing {
        query("UPDATE users SET name_key = $1 WHERE id = $2")
            .bind(name_key(&name))
            .bind(id)
            .execute(&mut tx)
            .await?;
    }
    tx.commit().await
}

/// A count or size as both engines store it (64 bits) in the `u32` the app's types use: negative reads as
/// 0, too large as `u32::MAX`.
pub fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::migrate::Migrator;

    #[test]
    fn names_sort_by_pinyin_then_by_their_characters() {
        let mut names = [
            "张伟", "李", "阿明", "李明", "黎明", "刘洋", "陈静", "Anna", "张玮", "赵磊",
        ];
        names.sort_by_key(|n| name_key(n));
        assert_eq!(
            names,
            [
                "Anna", "阿明", "陈静", "黎明", "李", "李明", "刘洋", "张伟", "张玮", "赵磊"
            ]
        );
        assert_eq!(name_key("李明"), "li3 ming2\u{1}李明");
    }

    #[test]
    fn a_restore_resumes_at_the_time_in_microseconds_and_never_behind_the_restored_counter() {
        assert_eq!(
            resumed_from(480, 1_796_000_000_000),
            Some(1_796_000_000_000_000)
        );
        // A history restored once resumed at its time; restored again later, it resumes later still.
        assert_eq!(
            resumed_from(1_796_000_000_000_000 + 50, 1_796_000_000_001),
            Some(1_796_000_000_001_000)
        );
        // A clock set back since that restore cannot give a safe place to resume.
        assert_eq!(
            resumed_from(1_796_000_000_000_000 + 50, 1_795_999_999_999),
            None
        );
    }

    /// A database from before committee admins and 党小组 (migrations 1–4, with people, sessions and a
    /// roster) comes through the table rebuild whole, with its references and foreign keys working.
    #[tokio::test]
    async fn the_rebuild_for_committees_and_groups_keeps_every_row_and_reference() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true);
        let mut old = SqliteConnection::connect_with(&options).await.unwrap();
        let all = sqlx::migrate!("src/server/migrations/sqlite");
        let before = Migrator {
            migrations: all
                .migrations
                .iter()
                .filter(|m| m.version <= 4)
                .cloned()
                .collect(),
            ..Migrator::DEFAULT
        };
        before.run(&mut old).await.unwrap();
        for sql in [
            "INSERT INTO orgs (id, parent_id, name, kind, form) VALUES (1, NULL, '区委组织部', 'department', 'department'),
                 (2, 1, '机关党支部', 'branch', 'branch')",
            "INSERT INTO users (id, phone, name, password_hash, role, org_id, created_at, post, tags)
                 VALUES (1, '13800000009', '周敏', 'x', 'admin', 1, 0, '', ''),
                        (2, '13800000002', '李明', 'y', 'member', 2, 0, '党员', '流动党员')",
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('h', 2, 0, 1)",
            "INSERT INTO host_orgs (user_id, org_id) VALUES (2, 2)",
        ] {
            query(sql).execute(&mut old).await.unwrap();
        }
        old.close().await.unwrap();

        let db = Db::open(&path).await.unwrap();
        let people: Vec<(i64, String, String, String, String)> =
            query_as("SELECT id, name, role, post, tags FROM users ORDER BY id")
                .fetch_all(&db.reader)
                .await
                .unwrap();
        assert_eq!(
            people[1],
            (
                2,
                "李明".into(),
                "member".into(),
                "党员".into(),
                "流动党员".into()
            )
        );
        let session: i64 = query_scalar("SELECT user_id FROM sessions")
            .fetch_one(&db.reader)
            .await
            .unwrap();
        assert_eq!(session, 2);
        // The widened checks, and the foreign keys on again for the app.
        query("INSERT INTO orgs (id, parent_id, name, kind, form) VALUES (3, 2, '第一党小组', 'group', 'group')")
            .execute(&db.writer)
            .await
            .unwrap();
        query("UPDATE users SET role = 'committee', group_id = 3 WHERE id = 2")
            .execute(&db.writer)
            .await
            .unwrap();
        let refused = query("UPDATE users SET role = 'boss' WHERE id = 2")
            .execute(&db.writer)
            .await;
        assert!(refused.is_err(), "the CHECK still holds");
        let dangling = query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('z', 99, 0, 1)")
            .execute(&db.writer)
            .await;
        assert!(dangling.is_err(), "sessions still refer to users");
        let orphan = query("UPDATE users SET group_id = 42 WHERE id = 2")
            .execute(&db.writer)
            .await;
        assert!(orphan.is_err(), "users refer to orgs");
    }
}
