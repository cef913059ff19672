//! The SQLite database: opening it, migrating it, and the server sequence.
//!
//! Writes go through a pool of exactly one connection. SQLite allows one writer at a time anyway; queuing
//! writers in the process (instead of in SQLite's busy handler) means a transaction never fails with
//! SQLITE_BUSY, and it makes the server sequence commit in order — a pull that has seen sequence N has seen
//! everything before N. Reads use their own pool and, thanks to WAL, never wait for the writer.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

#[derive(Clone)]
pub struct Db {
    /// Exactly one connection: every write transaction starts here.
    pub writer: SqlitePool,
    pub reader: SqlitePool,
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Db, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a receipt is only sent for a commit that survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("src/server/migrations").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(Db { writer, reader })
    }
}

/// Takes the next server sequence number. Call only inside a write transaction.
pub async fn next_seq(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE counters SET value = value + 1 WHERE name = 'server_seq' RETURNING value",
    )
    .fetch_one(conn)
    .await
}

/// Server sequence numbers handed out within one write transaction: read once, written back once by
/// [`Sequence::save`], and taken only for changes that really happen (a duplicate takes none).
pub struct Sequence {
    last: i64,
    saved: i64,
}

impl Sequence {
    pub async fn begin(conn: &mut SqliteConnection) -> Result<Sequence, sqlx::Error> {
        let last = sqlx::query_scalar("SELECT value FROM counters WHERE name = 'server_seq'")
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

    /// Writes the numbers taken back to the counter; call before committing.
    pub async fn save(self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if self.last != self.saved {
            sqlx::query("UPDATE counters SET value = ? WHERE name = 'server_seq'")
                .bind(self.last)
                .execute(conn)
                .await?;
        }
        Ok(())
    }
}

/// A `WITH` clause naming `scope(id)`: the organisation bound as `?1` and everything below it (the whole
/// district when `?1` is NULL).
pub const ORG_SCOPE: &str = "WITH RECURSIVE scope(id) AS (
        SELECT id FROM orgs WHERE (?1 IS NULL AND parent_id IS NULL) OR id = ?1
        UNION SELECT o.id FROM orgs o JOIN scope s ON o.parent_id = s.id)";

/// Records a lead's or admin's action for the audit trail.
pub async fn audit(
    conn: &mut SqliteConnection,
    at: i64,
    actor_id: i64,
    action: &str,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (at, actor_id, action, subject) VALUES (?, ?, ?, ?)")
        .bind(at)
        .bind(actor_id)
        .bind(action)
        .bind(subject)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
