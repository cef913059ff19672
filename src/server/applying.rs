//! What an applier of a record (`activities`, `attendance`, `study`, `rights`) is given and returns.
//!
//! Each kind of record has one applier (listed beside the kind in `api`'s `mutation_kinds!` table). It
//! checks the record against the rules and the database, then writes. A record that breaks a rule is
//! refused with a reason the member reads (`return Err(refuse("…"))`): `sync` then stores it as
//! quarantined and acknowledges it, so it never blocks the phone's queue. A database error (`?`) fails the
//! whole push, which the phone sends again.
//!
//! `sync` runs every applier inside a savepoint ([`savepoint`], [`end_savepoint`]) and rolls it back on
//! a refusal, so a refused record leaves no write behind even when an applier refuses after it has begun
//! to write: "every check before any write" is kept by the database, not by each applier's care.

use crate::server::db::{self, Conn};

use super::auth::Person;
use super::db::audit_row;
use crate::api::Settings;
use crate::model::Millis;

/// Why a record was not applied.
#[derive(Debug)]
pub enum Refusal {
    /// It breaks a rule: quarantined, with this reason for the member.
    Refused(String),
    /// The database failed: the push fails, and the phone sends it again.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Refusal {
        Refusal::Database(e)
    }
}

/// Refuses the record with `reason`, which the member reads.
pub fn refuse(reason: impl Into<String>) -> Refusal {
    Refusal::Refused(reason.into())
}

/// What an applier returns (and what its checks return, `T` being what they found).
pub type Outcome<T = ()> = Result<T, Refusal>;

/// Marks where a record's writes begin (inside the push's transaction).
pub async fn savepoint(conn: &mut dyn Conn) -> Result<(), sqlx::Error> {
    db::query("SAVEPOINT applying").execute(&mut *conn).await?;
    Ok(())
}

/// Keeps the record's writes if it was applied; undoes them if it was refused. (On a database error the
/// whole push is rolled back anyway.)
pub async fn end_savepoint(conn: &mut dyn Conn, outcome: &Outcome) -> Result<(), sqlx::Error> {
    if let Err(Refusal::Refused(_)) = outcome {
        db::query("ROLLBACK TO applying")
            .execute(&mut *conn)
            .await?;
    }
    db::query("RELEASE applying").execute(&mut *conn).await?;
    Ok(())
}

/// One new record being applied: who made it, when by their clock, and the server sequence it takes.
pub struct Applying<'a> {
    pub author: Person,
    pub record_id: &'a str,
    pub device_time: Millis,
    /// server time − the phone's time, as the phone last measured it.
    pub offset: Millis,
    pub seq: i64,
    pub now: Millis,
    pub settings: &'a Settings,
    /// The server's time of the phone's last sync before the record was made (0: unknown).
    pub synced_at: Millis,
    /// Who imported the file this record came in, when not its author.
    pub imported_by: Option<i64>,
    /// It came unsigned in a file someone else imported: the carrier could have written it.
    pub carried_unsigned: bool,
}

impl Applying<'_> {
    /// When the record was made: the phone's clock corrected by its last known offset to ours.
    pub fn at(&self) -> Millis {
        self.device_time.saturating_add(self.offset)
    }

    /// The record claims a time before the phone's last sync, which came before it was made.
    pub fn before_last_sync(&self) -> bool {
        crate::life::claims_before_sync(self.at(), self.synced_at)
    }

    /// Audits what this record does, in its author's name and, when someone else imported it, theirs.
    pub async fn audit(
        &self,
        conn: &mut dyn Conn,
        action: &str,
        subject: &str,
        about: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        audit_row(
            conn,
            self.now,
            self.author.id,
            action,
            subject,
            about,
            self.imported_by,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    async fn count(conn: &mut dyn Conn) -> i64 {
        db::query_scalar("SELECT count(*) FROM t")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    async fn write_then(conn: &mut dyn Conn, outcome: Outcome) {
        savepoint(conn).await.unwrap();
        db::query("INSERT INTO t VALUES (1)")
            .execute(&mut *conn)
            .await
            .unwrap();
        end_savepoint(conn, &outcome).await.unwrap();
    }

    #[tokio::test]
    async fn a_refused_record_leaves_no_write_behind_and_an_applied_one_keeps_its_writes() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        db::query("CREATE TABLE t (x)")
            .execute(&mut conn)
            .await
            .unwrap();
        let mut tx = Conn::begin(&mut conn).await.unwrap();
        // An applier that wrote before it found a reason to refuse.
        write_then(&mut tx, Err(refuse("activity closed"))).await;
        assert_eq!(count(&mut tx).await, 0);
        write_then(&mut tx, Ok(())).await;
        assert_eq!(count(&mut tx).await, 1);
        // The next record's savepoint is its own: refusing it keeps the one before.
        write_then(&mut tx, Err(refuse("again"))).await;
        assert_eq!(count(&mut tx).await, 1);
        tx.commit().await.unwrap();
        assert_eq!(count(&mut conn).await, 1);
    }
}
