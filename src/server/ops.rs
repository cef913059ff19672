//! Operators' commands on the server binary: run migrations, create the first district admin, import a
//! roster, and back up and restore the database — with no developer at hand.
//!
//! A backup is taken online (`VACUUM INTO`: one consistent snapshot while the server keeps serving) and
//! checked before it is reported. A restore needs the server stopped; it keeps the database it replaces.

use std::path::{Path, PathBuf};

use sqlx::{Connection, SqliteConnection};

use super::auth::hash_password;
use super::db::{self, Db, Location, now_ms};
use crate::model::is_valid_phone;

type Failure = Box<dyn std::error::Error>;

/// Applies any migrations the database lacks (refusing one a newer release migrated); answers how many
/// migrations it has.
pub async fn migrate(location: &Location) -> Result<i64, Failure> {
    let db_path = match location {
        Location::File(path) => path,
        Location::Postgres(_) => return Ok(db::migrate_postgres(location).await?),
    };
    let db = Db::open(db_path).await?;
    let applied: i64 = db::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&db.reader)
        .await?;
    Ok(applied)
}

/// Creates a district admin (区委组织部管理员) and, in an empty database, the district's root organisation.
pub async fn create_admin(
    location: &Location,
    phone: &str,
    name: &str,
    password: &str,
) -> Result<i64, Failure> {
    if !is_valid_phone(phone) {
        return Err("手机号应为11位数字".into());
    }
    if name.trim().is_empty() || name.chars().count() > 50 {
        return Err("请填写姓名（50字以内）".into());
    }
    if let Err(refused) = super::auth::check_new_password(password, phone) {
        return Err(refused.message().into());
    }
    let db = Db::connect(location).await?;
    let mut tx = db.writer.begin().await?;
    let root: Option<i64> =
        db::query_scalar("SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id")
            .fetch_optional(&mut *tx)
            .await?;
    let root = match root {
        Some(id) => id,
        None => db::query_scalar(
            "INSERT INTO orgs (parent_id, name, kind) VALUES (NULL, '区委组织部', 'department') RETURNING id",
        )
        .fetch_one(&mut *tx)
        .await?,
    };
    let inserted: Option<i64> = db::query_scalar(
        "INSERT INTO users (phone, name, name_key, password_hash, role, org_id, created_at, joined_at)
         VALUES ($1, $2, $3, $4, 'admin', $5, $6, $6)
         ON CONFLICT (phone) DO NOTHING RETURNING id",
    )
    .bind(phone)
    .bind(name.trim())
    .bind(db::name_key(name.trim()))
    .bind(hash_password(password))
    .bind(root)
    .bind(now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = inserted else {
        return Err(format!("手机号 {phone} 已有账号").into());
    };
    tx.commit().await?;
    Ok(id)
}

/// Imports the department's roster file (see roster.rs): every row is checked, and only a file without
/// problems is written. With `dry_run` nothing is written either way.
pub async fn import_roster(
    location: &Location,
    file: &Path,
    dry_run: bool,
) -> Result<crate::api::ImportReport, Failure> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let table = super::org::roster::read_table(&bytes)?;
    let db = Db::connect(location).await?;
    let mut tx = db.writer.begin().await?;
    let report = super::org::roster::run(&mut tx, &table, dry_run, None, None, now_ms())
        .await?
        .map_err(|e| e.to_string())?;
    tx.commit().await?;
    Ok(report)
}

/// Writes a consistent copy of the live database to `dest` (which must not exist yet) and checks it.
pub async fn backup(db_path: &Path, dest: &Path) -> Result<(), Failure> {
    if dest.exists() {
        return Err(format!("{} already exists; choose a new file name", dest.display()).into());
    }
    let db = Db::open(db_path).await?;
    db::query("VACUUM INTO $1")
        .bind(dest.to_string_lossy().as_ref())
        .execute(&db.writer)
        .await?;
    check(dest).await
}

/// Holds `<db>.lock` for as long as the answer lives: the server holds it while it serves, so a restore
/// (or a second server) on the same database is refused instead of swapping the file under it.
pub fn lock(db_path: &Path) -> Result<std::fs::File, Failure> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(with_suffix(db_path, ".lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "{} is in use by a running hongyan server: stop it first",
            db_path.display()
        )
        .into()),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The database it replaced, kept beside it (none when there was none).
    pub previous: Option<PathBuf>,
    /// Where the restored history ends, and where the server sequence resumes (see [`db::resumed_from`]).
    pub kept_upto: i64,
    pub resumed_from: i64,
}

/// Marks a PostgreSQL database restored to an earlier point by its own tools (a point-in-time recovery, or a
/// failover that lost transactions) as [`restore`] marks a SQLite file: its history breaks, so phones that
/// pulled what was lost resync and send again what they hold. Answers where the history ends and resumes.
pub async fn mark_restored(location: &Location) -> Result<(i64, i64), Failure> {
    let db = Db::connect(location).await?;
    let mut conn = db.writer.acquire().await?;
    let numbers = db::break_history(&mut conn, now_ms()).await?;
    drop(conn);
    db.writer.close().await;
    db.reader.close().await;
    Ok(numbers)
}

/// What the app relies on in a database, on either engine: every reference leads somewhere (each
/// foreign key of the schema; a copy into PostgreSQL runs with them off), the counts the triggers keep
/// agree with the rows, and the server sequence is whole (each record its own number, the counter at or
/// past every number handed out). On SQLite also the file's own structure (`PRAGMA integrity_check`).
/// Answers the problems found, in words; none when sound.
pub async fn integrity(conn: &mut dyn db::Conn) -> Result<Vec<String>, sqlx::Error> {
    let mut problems = Vec::new();
    let count = async |conn: &mut dyn db::Conn, sql: &str| -> Result<i64, sqlx::Error> {
        db::query_scalar(sql).fetch_one(conn).await
    };
    match conn.engine() {
        db::Engine::Sqlite => {
            let verdict: String = db::query_scalar("PRAGMA integrity_check")
                .fetch_one(&mut *conn)
                .await?;
            if verdict != "ok" {
                problems.push(format!("the file is damaged: {verdict}"));
            }
            let dangling = count(conn, "SELECT count(*) FROM pragma_foreign_key_check").await?;
            if dangling > 0 {
                problems.push(format!("references that lead nowhere: {dangling}"));
            }
        }
        db::Engine::Postgres => {
            // Every single-column foreign key of the schema (all of ours are).
            let keys: Vec<(String, String, String, String)> = db::query_as(
                "SELECT cl.relname::text, a.attname::text, pl.relname::text, pa.attname::text
                 FROM pg_constraint c
                 JOIN pg_class cl ON cl.oid = c.conrelid
                 JOIN pg_class pl ON pl.oid = c.confrelid
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                 JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
                 WHERE c.contype = 'f' AND cardinality(c.conkey) = 1
                   AND cl.relnamespace = current_schema()::regnamespace
                 ORDER BY 1, 2",
            )
            .fetch_all(&mut *conn)
            .await?;
            for (table, column, parent, key) in keys {
                let dangling = count(
                    conn,
                    &format!(
                        "SELECT count(*) FROM \"{table}\" c WHERE c.\"{column}\" IS NOT NULL
                           AND NOT EXISTS (SELECT 1 FROM \"{parent}\" p WHERE p.\"{key}\" = c.\"{column}\")"
                    ),
                )
                .await?;
                if dangling > 0 {
                    problems.push(format!(
                        "{table}.{column} that leads to no {parent}: {dangling}"
                    ));
                }
            }
        }
    }
    let checks: [(&str, &str); 4] = [
        (
            "activities whose kept 应到, 实到 or 待确认 disagree with their roster",
            "SELECT count(*) FROM activities a WHERE
                 a.expected != (SELECT count(*) FROM attendance t WHERE t.activity_id = a.id AND t.status != 'exempt')
              OR a.present != (SELECT count(*) FROM attendance t WHERE t.activity_id = a.id
                               AND t.status IN ('signed_in', 'confirmed', 'online', 'made_up'))
              OR a.unconfirmed != (SELECT count(*) FROM attendance t WHERE t.activity_id = a.id AND t.status = 'signed_in')",
        ),
        (
            // Two activities may start at the same time: either is the last.
            "people whose kept last participation disagrees with their rows",
            "SELECT count(*) FROM users u WHERE u.last_present_at
                 != coalesce((SELECT max(starts_at) FROM last_presence p WHERE p.member_id = u.id), 0)
              OR (u.last_present IS NULL AND u.last_present_at != 0)
              OR (u.last_present IS NOT NULL AND NOT EXISTS (
                      SELECT 1 FROM last_presence p WHERE p.member_id = u.id AND p.activity_id = u.last_present
                                                       AND p.starts_at = u.last_present_at))",
        ),
        (
            "sequence numbers given to more than one record",
            "SELECT count(*) - count(DISTINCT server_seq) FROM mutations",
        ),
        (
            "rows numbered past the sequence counter",
            "SELECT count(*) FROM counters c WHERE c.name = 'server_seq' AND c.value < (
                 SELECT max(n) FROM (SELECT max(server_seq) AS n FROM mutations
                                     UNION ALL SELECT max(server_seq) FROM activities
                                     UNION ALL SELECT max(server_seq) FROM attendance
                                     UNION ALL SELECT max(server_seq) FROM study_records
                                     UNION ALL SELECT max(server_seq) FROM feedback) AS numbered)",
        ),
    ];
    for (what, sql) in checks {
        let found = count(conn, sql).await?;
        if found > 0 {
            problems.push(format!("{what}: {found}"));
        }
    }
    Ok(problems)
}

/// `hongyan check`: [`integrity`] of the database at `location`, read as it is — a SQLite file is opened
/// read-only and not migrated (a backup stays as it was), and a path that names nothing is refused.
pub async fn check_database(location: &Location) -> Result<Vec<String>, Failure> {
    match location {
        Location::File(path) => {
            if !path.exists() {
                return Err(format!("{} does not exist", path.display()).into());
            }
            let mut conn =
                SqliteConnection::connect(&format!("sqlite://{}?mode=ro", path.display())).await?;
            let problems = integrity(&mut conn).await?;
            conn.close().await?;
            Ok(problems)
        }
        Location::Postgres(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            let problems = integrity(&mut conn).await?;
            conn.close().await?;
            Ok(problems)
        }
    }
}

/// What [`copy_to_postgres`] copied: rows per table.
pub type Copied = Vec<(String, u64)>;

/// Copies a SQLite database, whole, into an empty PostgreSQL one: how a deployment that outgrew one
/// machine moves (stop the server first; its lock is checked). The target is migrated first; every table
/// then arrives by `COPY` in one transaction, with triggers and references switched off for it
/// (`session_replication_role = replica`: the copied counts are already right), identities resume after
/// the highest id, and every table's rows are counted on both sides before it commits. Phones carry on:
/// the history, sequence numbers and sessions are the same.
pub async fn copy_to_postgres(from: &Path, to: &Location) -> Result<Copied, Failure> {
    use futures_util::TryStreamExt;

    if !from.exists() {
        return Err(format!("{} does not exist", from.display()).into());
    }
    let _lock = lock(from)?;
    let Location::Postgres(url) = to else {
        return Err("the target is not a postgres:// address".into());
    };
    let source = Db::open(from).await?;
    let db::engine::Pool::Sqlite(sqlite) = &source.reader else {
        unreachable!("Db::open opens SQLite");
    };
    let mut pg = sqlx::PgConnection::connect(url).await?;
    let held = async |pg: &mut sqlx::PgConnection| -> Result<bool, sqlx::Error> {
        let migrated: bool = db::query_scalar("SELECT to_regclass('users') IS NOT NULL")
            .fetch_one(&mut *pg)
            .await?;
        if !migrated {
            return Ok(false);
        }
        db::query_scalar("SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM mutations)")
            .fetch_one(pg)
            .await
    };
    let refused = "the PostgreSQL database already holds data: copy into a new, empty one";
    if held(&mut pg).await? {
        return Err(refused.into());
    }
    db::migrate_postgres(to).await?;
    let mut tx = pg.begin().await?;
    // Again, in the copy's transaction: nothing arrived meanwhile.
    if held(&mut tx).await? {
        return Err(refused.into());
    }
    db::query("SET LOCAL session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            format!("{e} (switching triggers off for the copy needs a superuser, or GRANT SET ON PARAMETER session_replication_role)")
        })?;
    // The app's tables: both databases are migrated to the same version, so they have the same ones.
    // Anything else in the target's schema is left alone.
    let ours: std::collections::HashSet<String> = db::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&source.reader)
    .await?
    .into_iter()
    .collect();
    let tables: Vec<String> = db::query_scalar::<String>(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .filter(|t| ours.contains(t))
    .collect();
    if tables.len() != ours.len() {
        return Err(format!(
            "the databases differ: the copy knows {} of the {} tables of {}",
            tables.len(),
            ours.len(),
            from.display()
        )
        .into());
    }
    let quoted: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    // What the migrations seeded (the counters) is replaced by the source's.
    db::query(&format!("TRUNCATE {}", quoted.join(", ")))
        .execute(&mut *tx)
        .await?;
    let mut copied = Vec::new();
    for table in &tables {
        let columns: Vec<(String, String, bool)> = db::query_as(
            "SELECT column_name::text, data_type::text, is_identity = 'YES' FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let kinds = columns
            .iter()
            .map(|(name, data_type, _)| {
                Kind::of(data_type)
                    .ok_or_else(|| format!("{table}.{name}: {data_type} is not copied"))
            })
            .collect::<Result<Vec<Kind>, String>>()?;
        let names: Vec<String> = columns
            .iter()
            .map(|(name, _, _)| format!("\"{name}\""))
            .collect();
        let read = columns
            .iter()
            .zip(&kinds)
            .map(|((name, _, _), kind)| format!("CAST(\"{name}\" AS {})", kind.sqlite_type()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut copy = tx
            .copy_in_raw(&format!(
                "COPY \"{table}\" ({}) FROM STDIN",
                names.join(", ")
            ))
            .await?;
        let select = format!("SELECT {read} FROM \"{table}\"");
        let mut rows = sqlx::query(&select).fetch(sqlite);
        let (mut buffer, mut count) = (String::new(), 0u64);
        while let Some(row) = rows.try_next().await? {
            for (i, kind) in kinds.iter().enumerate() {
                if i > 0 {
                    buffer.push('\t');
                }
                kind.write(&row, i, &mut buffer)
                    .map_err(|e| format!("{table}.{}, row {}: {e}", columns[i].0, count + 1))?;
            }
            buffer.push('\n');
            count += 1;
            if buffer.len() > 1 << 20 {
                copy.send(std::mem::take(&mut buffer).into_bytes()).await?;
            }
        }
        drop(rows);
        if !buffer.is_empty() {
            copy.send(buffer.into_bytes()).await?;
        }
        let arrived = copy.finish().await?;
        if arrived != count {
            return Err(format!("{table}: {count} rows read, {arrived} arrived").into());
        }
        for (name, _, _) in columns.iter().filter(|(_, _, identity)| *identity) {
            db::query(&format!(
                "SELECT setval(pg_get_serial_sequence('\"{table}\"', '{name}'), coalesce(max(\"{name}\"), 0) + 1, false) FROM \"{table}\""
            ))
            .execute(&mut *tx)
            .await?;
        }
        copied.push((table.clone(), count));
    }
    // Statistics for the planner (of the check, and of the servers to come).
    db::query("ANALYZE").execute(&mut *tx).await?;
    // References and triggers were off for the copy: what they guard is checked before it counts.
    let problems = integrity(&mut *tx).await?;
    if !problems.is_empty() {
        return Err(format!(
            "{} is not sound, nothing was copied: {}",
            from.display(),
            problems.join("; ")
        )
        .into());
    }
    tx.commit().await?;
    pg.close().await?;
    // The SQLite database is retired: should a server be started on it again by mistake, phones that
    // synced with PostgreSQL meanwhile resync from it instead of silently missing rows.
    let mut conn = source.writer.acquire().await?;
    db::break_history(&mut conn, now_ms()).await?;
    drop(conn);
    source.writer.close().await;
    source.reader.close().await;
    Ok(copied)
}

/// How a column's values travel from SQLite to PostgreSQL's `COPY` text format.
#[derive(Clone, Copy)]
enum Kind {
    Integer,
    Boolean,
    Text,
    Real,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        match data_type {
            "bigint" | "integer" | "smallint" => Some(Kind::Integer),
            "boolean" => Some(Kind::Boolean),
            "text" | "character varying" => Some(Kind::Text),
            "double precision" | "real" => Some(Kind::Real),
            _ => None,
        }
    }

    /// What the value is read as from SQLite (whatever type it was stored with).
    fn sqlite_type(self) -> &'static str {
        match self {
            Kind::Integer | Kind::Boolean => "INTEGER",
            Kind::Text => "TEXT",
            Kind::Real => "REAL",
        }
    }

    /// Appends column `i` of `row` in `COPY`'s text format: `\N` for NULL, special characters escaped.
    fn write(
        self,
        row: &sqlx::sqlite::SqliteRow,
        i: usize,
        out: &mut String,
    ) -> Result<(), String> {
        use sqlx::Row;
        use std::fmt::Write;
        let null = |out: &mut String| out.push_str("\\N");
        match self {
            Kind::Integer => match row
                .try_get::<Option<i64>, _>(i)
                .map_err(|e| e.to_string())?
            {
                Some(n) => write!(out, "{n}").unwrap(),
                None => null(out),
            },
            Kind::Boolean => match row
                .try_get::<Option<i64>, _>(i)
                .map_err(|e| e.to_string())?
            {
                Some(n) => out.push(if n != 0 { 't' } else { 'f' }),
                None => null(out),
            },
            Kind::Real => match row
                .try_get::<Option<f64>, _>(i)
                .map_err(|e| e.to_string())?
            {
                Some(x) => write!(out, "{x:?}").unwrap(),
                None => null(out),
            },
            Kind::Text => match row
                .try_get::<Option<String>, _>(i)
                .map_err(|e| e.to_string())?
            {
                Some(text) if text.contains('\0') => {
                    return Err("holds a NUL character, which PostgreSQL's text cannot: correct it in the SQLite database first".to_owned());
                }
                Some(text) => {
                    for c in text.chars() {
                        match c {
                            '\\' => out.push_str("\\\\"),
                            '\n' => out.push_str("\\n"),
                            '\r' => out.push_str("\\r"),
                            '\t' => out.push_str("\\t"),
                            c => out.push(c),
                        }
                    }
                }
                None => null(out),
            },
        }
        Ok(())
    }
}

/// Replaces the database at `db_path` with the backup `from`, after checking the backup. The server must
/// be stopped (its lock is checked). The replaced database — with anything a crashed server left in its
/// write-ahead log folded in — is kept beside it as `<name>.before-restore-<time>`.
///
/// The restored copy is brought up to this version's schema and its history marked as broken
/// ([`db::break_history`]) before it takes the database's place, so no server ever serves it without the
/// break: phones that pulled rows the backup does not have are resynced, and send again what they hold.
pub async fn restore(db_path: &Path, from: &Path) -> Result<Restored, Failure> {
    check(from).await?;
    let _lock = lock(db_path)?;
    if db_path.exists() {
        let mut conn =
            SqliteConnection::connect(&format!("sqlite://{}", db_path.display())).await?;
        db::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
    }
    // The copy is prepared next to the database and renamed over it, so the database is whole at every
    // moment: the old one, or the restored one.
    let staged = with_suffix(db_path, ".restoring");
    for leftover in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&staged, leftover));
    }
    std::fs::copy(from, &staged)?;
    let (kept_upto, resumed_from) = {
        let db = Db::open(&staged).await?;
        let mut conn = db.writer.acquire().await?;
        let numbers = db::break_history(&mut conn, now_ms()).await?;
        // Everything into the one file that is renamed.
        db::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await?;
        drop(conn);
        db.writer.close().await;
        db.reader.close().await;
        numbers
    };
    for emptied in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(&staged, emptied));
    }
    // The replaced database keeps a second name (a hard link), so that one rename swaps the two.
    let previous = if db_path.exists() {
        let kept = with_suffix(db_path, &format!(".before-restore-{}", now_ms()));
        std::fs::hard_link(db_path, &kept)?;
        Some(kept)
    } else {
        None
    };
    for stale in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(db_path, stale));
    }
    std::fs::rename(&staged, db_path)?;
    Ok(Restored {
        previous,
        kept_upto,
        resumed_from,
    })
}

/// `PRAGMA integrity_check` on a database file, and that it is one of ours.
async fn check(path: &Path) -> Result<(), Failure> {
    if !path.exists() {
        return Err(format!("{} does not exist", path.display()).into());
    }
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = SqliteConnection::connect(&url).await?;
    let verdict: String = db::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await?;
    if verdict != "ok" {
        return Err(format!("{} is damaged: {verdict}", path.display()).into());
    }
    let ours: i64 = db::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('users', 'mutations', '_sqlx_migrations')",
    )
    .fetch_one(&mut conn)
    .await?;
    conn.close().await?;
    if ours != 3 {
        return Err(format!("{} is not a 红雁 database", path.display()).into());
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Settings;
    use crate::server::demo;

    #[tokio::test]
    async fn the_check_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("check.db")).await.unwrap();
        demo::seed(&db, &Settings::default()).await.unwrap();
        let check = async || {
            let mut conn = db.reader.acquire().await.unwrap();
            integrity(&mut *conn).await.unwrap()
        };
        assert_eq!(check().await, Vec::<String>::new());
        for broken in [
            "UPDATE activities SET present = present + 1",
            "UPDATE counters SET value = 0 WHERE name = 'server_seq'",
        ] {
            db::query(broken).execute(&db.writer).await.unwrap();
        }
        assert_eq!(
            check().await,
            [
                "activities whose kept 应到, 实到 or 待确认 disagree with their roster: 1",
                "rows numbered past the sequence counter: 1"
            ]
        );
        // `hongyan check` reads a file as it is, and creates none where a path names nothing.
        let file = Location::File(dir.path().join("check.db"));
        assert_eq!(check_database(&file).await.unwrap().len(), 2);
        let typo = dir.path().join("chek.db");
        let refused = check_database(&Location::File(typo.clone())).await;
        assert!(refused.unwrap_err().to_string().contains("does not exist"));
        assert!(!typo.exists());
    }

    async fn count(path: &Path, sql: &str) -> i64 {
        let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }

    #[tokio::test]
    async fn the_first_admin_is_created_once_with_a_hashed_password() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("new.db");
        let location = Location::File(db.clone());
        assert_eq!(migrate(&location).await.unwrap(), 13);
        let id = create_admin(&location, "13900000001", "周敏", "correct horse")
            .await
            .unwrap();
        assert!(id > 0);
        let err = create_admin(&location, "13900000001", "周敏", "correct horse")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "手机号 13900000001 已有账号");
        assert!(
            create_admin(&location, "139", "x", "correct horse")
                .await
                .is_err()
        );
        assert!(
            create_admin(&location, "13900000002", "x", "short")
                .await
                .is_err()
        );
        let stored = count(
            &db,
            "SELECT count(*) FROM users WHERE role = 'admin' AND password_hash LIKE '$argon2id$%'",
        )
        .await;
        assert_eq!(stored, 1);
        assert_eq!(
            count(&db, "SELECT count(*) FROM orgs WHERE parent_id IS NULL").await,
            1
        );
    }

    #[tokio::test]
    async fn the_operator_imports_a_roster_file_after_a_dry_run() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live.db");
        demo::seed(&Db::open(&live).await.unwrap(), &Settings::default())
            .await
            .unwrap();
        let file = dir.path().join("名册.csv");
        std::fs::write(
            &file,
            "姓名,手机号,支部\n吴刚,13900000001,上海浦东项目部党支部\n",
        )
        .unwrap();
        let dry = import_roster(&Location::File(live.clone()), &file, true)
            .await
            .unwrap();
        assert_eq!((dry.created, dry.applied), (1, false));
        assert_eq!(
            count(
                &live,
                "SELECT count(*) FROM users WHERE phone = '13900000001'"
            )
            .await,
            0
        );
        let done = import_roster(&Location::File(live.clone()), &file, false)
            .await
            .unwrap();
        assert_eq!((done.created, done.applied), (1, true));
        assert_eq!(
            count(
                &live,
                "SELECT count(*) FROM users WHERE phone = '13900000001'"
            )
            .await,
            1
        );
        let missing = import_roster(
            &Location::File(live.clone()),
            &dir.path().join("none.csv"),
            true,
        )
        .await;
        assert!(missing.unwrap_err().to_string().contains("cannot read"));
        std::fs::write(&file, "姓名,电话\n吴刚,13900000001\n").unwrap();
        let wrong = import_roster(&Location::File(live.clone()), &file, true)
            .await
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("缺少必需的列：支部"), "{wrong}");
    }

    #[tokio::test]
    async fn a_backup_taken_while_serving_restores_to_the_same_rows_and_the_old_database_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live.db");
        let db = Db::open(&live).await.unwrap();
        demo::seed(&db, &Settings::default()).await.unwrap();
        // A reader holds the database open, as the running server does.
        let _open = db.reader.acquire().await.unwrap();
        let copy = dir.path().join("backup.db");
        backup(&live, &copy).await.unwrap();
        assert!(
            backup(&live, &copy).await.is_err(),
            "never overwrites a backup"
        );
        let users = count(&copy, "SELECT count(*) FROM users").await;
        assert_eq!(users, count(&live, "SELECT count(*) FROM users").await);

        // Restoring over a database a server holds is refused; after the server stops it works, and what
        // the server wrote last is kept in the replaced copy.
        let serving = lock(&live).unwrap();
        assert!(lock(&live).is_err(), "a second server is refused too");
        db::query("UPDATE users SET name = '改过' WHERE id = 1")
            .execute(&db.writer)
            .await
            .unwrap();
        let refused = restore(&live, &copy).await.unwrap_err().to_string();
        assert!(refused.contains("stop it first"), "{refused}");
        drop(_open);
        db.writer.close().await;
        db.reader.close().await;
        drop(serving);
        let restored = restore(&live, &copy).await.unwrap();
        let kept = restored.previous.expect("the old database is kept");
        assert_eq!(
            count(&live, "SELECT count(*) FROM users WHERE name = '改过'").await,
            0
        );
        assert_eq!(
            count(&kept, "SELECT count(*) FROM users WHERE name = '改过'").await,
            1
        );

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database").unwrap();
        assert!(restore(&live, &junk).await.is_err());
        assert!(
            restore(&live, &dir.path().join("missing.db"))
                .await
                .is_err()
        );
    }
}
