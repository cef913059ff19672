//! Tests on PostgreSQL (the cluster is `throwaway_postgres`'s): both engines' migrations make the same
//! schema, the query layer reads alike on both, and several servers share one database correctly.

use std::collections::BTreeMap;
use std::path::Path;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::server::db::engine::Pool;
pub use crate::server::throwaway_postgres::Cluster;

/// What the test compares of one column: its type as the engines share it (SQLite's INTEGER is
/// PostgreSQL's BIGINT or, for a flag, BOOLEAN), whether it may be NULL, and its default.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    kind: &'static str,
    not_null: bool,
    default: Option<String>,
}

/// Everything the app relies on of a schema, in one engine-neutral shape.
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    columns: BTreeMap<(String, String), Column>,
    /// (table, column) → the table it refers to.
    references: BTreeMap<(String, String), String>,
    /// Index name → its table and columns (primary keys and UNIQUE constraints aside).
    indexes: BTreeMap<String, (String, Vec<String>)>,
    views: Vec<String>,
    triggers: Vec<String>,
    migrations: Vec<i64>,
}

/// (index, table, column) rows, in column order, as index → (table, columns).
fn by_index(rows: Vec<(String, String, String)>) -> BTreeMap<String, (String, Vec<String>)> {
    let mut indexes = BTreeMap::new();
    for (index, table, column) in rows {
        indexes
            .entry(index)
            .or_insert_with(|| (table, Vec::new()))
            .1
            .push(column);
    }
    indexes
}

fn kind(declared: &str) -> &'static str {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "boolean" => "integer",
        "text" => "text",
        other => panic!("a column of a type the engines do not share: {other}"),
    }
}

/// A default as both engines would write it: PostgreSQL's casts dropped, its booleans as SQLite's 0 and 1.
fn default(declared: Option<String>) -> Option<String> {
    declared.map(|d| match d.as_str() {
        "false" => "0".to_owned(),
        "true" => "1".to_owned(),
        d => d.trim_end_matches("::text").to_owned(),
    })
}

async fn sqlite_schema(path: &Path) -> Schema {
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .unwrap();
    sqlx::migrate!("src/server/migrations/sqlite")
        .run(&mut conn)
        .await
        .unwrap();
    let tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                  AND name != '_sqlx_migrations'";
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, bool, Option<String>, bool)> =
        sqlx::query_as(&format!(
            "SELECT t.name, c.name, c.type, c.\"notnull\", c.dflt_value, c.pk > 0
         FROM ({tables}) t, pragma_table_info(t.name) c"
        ))
        .fetch_all(&mut conn)
        .await
        .unwrap();
    for (table, column, declared, not_null, dflt, pk) in columns {
        let column_kind = kind(&declared);
        schema.columns.insert(
            (table, column),
            Column {
                kind: column_kind,
                // A primary key is never NULL in the app's rows (SQLite would allow it in a TEXT key).
                not_null: not_null || pk,
                default: default(dflt),
            },
        );
    }
    let references: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT t.name, f.\"from\", f.\"table\" FROM ({tables}) t, pragma_foreign_key_list(t.name) f"
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    schema.references = references
        .into_iter()
        .map(|(t, c, to)| ((t, c), to))
        .collect();
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.name, i.tbl_name, c.name FROM sqlite_master i, pragma_index_info(i.name) c
         WHERE i.type = 'index' AND i.name NOT LIKE 'sqlite_autoindex_%' ORDER BY i.name, c.seqno",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    schema.indexes = by_index(indexes);
    schema.views =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    schema.triggers =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    schema.migrations = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    schema
}

async fn postgres_schema(options: &PgConnectOptions) -> Schema {
    let mut conn = PgConnection::connect_with(options).await.unwrap();
    sqlx::migrate!("src/server/migrations/postgres")
        .run(&mut conn)
        .await
        .unwrap();
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable = 'NO',
                c.column_default::text
         FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name != '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (table, column, declared, not_null, dflt) in columns {
        schema.columns.insert(
            (table, column),
            Column {
                kind: kind(&declared),
                not_null,
                default: default(dflt),
            },
        );
    }
    let references: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT src.relname::text, a.attname::text, dst.relname::text
         FROM pg_constraint k
         JOIN pg_class src ON src.oid = k.conrelid
         JOIN pg_class dst ON dst.oid = k.confrelid
         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
         WHERE k.contype = 'f'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    schema.references = references
        .into_iter()
        .map(|(t, c, to)| ((t, c), to))
        .collect();
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.relname::text, t.relname::text, a.attname::text
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
         WHERE n.nspname = 'public' AND NOT x.indisprimary AND NOT x.indisunique
         ORDER BY i.relname, k.position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    schema.indexes = by_index(indexes);
    schema.views = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.views WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    schema.triggers = sqlx::query_scalar(
        "SELECT DISTINCT trigger_name::text FROM information_schema.triggers
         WHERE trigger_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    schema.migrations = sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    schema
}

/// Both engines' migrations, run from nothing, make the same tables with the same columns (type,
/// NULL, default), references, indexes, views and triggers, at the same versions.
#[tokio::test]
async fn both_engines_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_schema(&dir.path().join("schema.db")).await;
    let postgres = postgres_schema(&Cluster::get().database().await).await;
    assert!(sqlite.columns.len() > 100, "the whole schema is read");
    for ((table, column), col) in &sqlite.columns {
        let other = postgres.columns.get(&(table.clone(), column.clone()));
        assert_eq!(Some(col), other, "{table}.{column}");
    }
    assert_eq!(sqlite, postgres);
}

/// One run of the engine layer, the same on either engine: numbered placeholders in any order, each
/// value type and NULL, rows as tuples and as scalars, and transactions that commit or roll back.
async fn the_layer_reads_what_it_wrote(pool: Pool) {
    use crate::server::db::engine::{query, query_as, query_scalar};
    query("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, flag BOOLEAN NOT NULL, share DOUBLE PRECISION)")
        .execute(&pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let changed =
        query("INSERT INTO t (name, id, flag, share) VALUES ($2, $1, $3, $4), ($5, $6, $7, NULL)")
            .bind(1_i64)
            .bind("王建国")
            .bind(true)
            .bind(0.5)
            .bind(None::<String>)
            .bind(2_u32)
            .bind(false)
            .execute(&mut tx)
            .await
            .unwrap();
    assert_eq!(changed, 2);
    tx.commit().await.unwrap();
    let rows: Vec<(i64, Option<String>, bool, Option<f64>)> =
        query_as("SELECT id, name, flag, share FROM t ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (1, Some("王建国".to_owned()), true, Some(0.5)),
            (2, None, false, None)
        ]
    );
    // A transaction dropped without a commit leaves nothing behind.
    let mut tx = pool.begin().await.unwrap();
    query("DELETE FROM t WHERE flag = $1")
        .bind(true)
        .execute(&mut tx)
        .await
        .unwrap();
    let inside: i64 = query_scalar("SELECT count(*) FROM t")
        .fetch_one(&mut tx)
        .await
        .unwrap();
    assert_eq!(inside, 1);
    drop(tx);
    let name: Option<Option<String>> = query_scalar("SELECT name FROM t WHERE id = $1")
        .bind(1_i64)
        .fetch_optional(&pool)
        .await
        .unwrap();
    assert_eq!(name, Some(Some("王建国".to_owned())));
    let missing: Option<i64> = query_scalar("SELECT id FROM t WHERE id = $1")
        .bind(3_i64)
        .fetch_optional(&pool)
        .await
        .unwrap();
    assert_eq!(missing, None);
    // A boolean expression reads as bool on both.
    let found: bool = query_scalar("SELECT EXISTS (SELECT 1 FROM t WHERE name IS NULL)")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(found);
}

#[tokio::test]
async fn the_engine_layer_works_alike_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            SqliteConnectOptions::new()
                .filename(dir.path().join("layer.db"))
                .create_if_missing(true),
        )
        .await
        .unwrap();
    the_layer_reads_what_it_wrote(Pool::Sqlite(sqlite)).await;
    let postgres = sqlx::postgres::PgPoolOptions::new()
        .connect_with(Cluster::get().database().await)
        .await
        .unwrap();
    the_layer_reads_what_it_wrote(Pool::Postgres(postgres)).await;
}

/// `hongyan migrate` on PostgreSQL makes the schema, does nothing the second time, and refuses a database
/// a newer release migrated; a SQLite file is refused the same way when a server opens it.
#[tokio::test]
async fn migrate_applies_what_is_missing_and_refuses_a_newer_schema() {
    use crate::server::db::{Db, Location};
    use crate::server::ops::migrate;
    let known = sqlx::migrate!("src/server/migrations/postgres")
        .iter()
        .count() as i64;
    let postgres: Location = Cluster::get().url().await.parse().unwrap();
    assert!(matches!(postgres, Location::Postgres(_)));
    assert_eq!(migrate(&postgres).await.unwrap(), known);
    assert_eq!(
        migrate(&postgres).await.unwrap(),
        known,
        "again: nothing to do"
    );
    let Location::Postgres(url) = &postgres else {
        unreachable!()
    };
    let mut conn = PgConnection::connect(url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, '\\x00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let refused = migrate(&postgres).await.unwrap_err().to_string();
    assert!(
        refused.contains("newer than this release knows"),
        "{refused}"
    );
    assert!(!refused.contains("password"), "{refused}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("newer.db");
    Db::open(&file).await.unwrap();
    let mut conn = SqliteConnectOptions::new()
        .filename(&file)
        .connect()
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (9999, 'from the future', TRUE, x'00', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let refused = Db::open(&file)
        .await
        .err()
        .expect("a newer schema is refused")
        .to_string();
    assert!(
        refused.contains("newer than this release knows"),
        "{refused}"
    );
}

/// Two app servers on one PostgreSQL, four phones publishing through them at once, and a member's phone
/// pulling through either the whole time: every record is stored once with a number of its own, and the
/// phone's copy ends equal to a fresh pull — no row is skipped because a transaction with a lower number
/// committed after a pull had passed it. (With `HONGYAN_UNSAFE_NO_WRITER_LOCK=1` in a debug build, the
/// lock of `db::Sequence` is off and this fails: numbers repeat and the phone misses rows.)
#[tokio::test]
async fn two_servers_on_one_postgresql_commit_in_sequence_order() {
    use super::*;
    const WRITERS: u64 = 4;
    const BATCHES: u64 = 15;
    const PER_BATCH: u64 = 4;
    let a = Harness::on(Engine::Postgres, |_| {}).await;
    let b = a.another_server().await;
    let servers = [a.clone(), b.clone()];
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let server = servers[w as usize % 2].clone();
        let device = format!("lead-phone-{w}");
        let token = server.login_on(LEAD, &device).await;
        writers.spawn(async move {
            for batch in 0..BATCHES {
                let now = now_ms();
                let records: Vec<Mutation> = (0..PER_BATCH)
                    .map(|i| {
                        let activity = NewActivity {
                            activity_id: new_id(),
                            kind: ActivityKind::ThemeDay,
                            title: format!("活动 {w}-{batch}-{i}"),
                            starts_at: now,
                            ends_at: now + 3_600_000,
                            code: "246810".into(),
                            ..Default::default()
                        };
                        let seq = batch * PER_BATCH + i + 1;
                        Mutation::new(seq, new_id(), &Change::CreateActivity(activity), now, 0)
                    })
                    .collect();
                let r = server.push(&token, &device, &records).await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            }
        });
    }
    let member = a.login_on(MEMBER, "member-phone").await;
    // The member's phone: pulls through either server until the writers are done, then once more.
    let pull = async |server: &Harness, cursor: &mut i64, held: &mut BTreeMap<String, i64>| loop {
        let page = server.pull(&member, *cursor).await;
        for activity in page["activities"].as_array().unwrap() {
            held.insert(
                activity["id"].as_str().unwrap().to_owned(),
                activity["server_seq"].as_i64().unwrap(),
            );
        }
        let next = page["cursor"].as_i64().unwrap();
        assert!(next >= *cursor, "a pull never goes back");
        *cursor = next;
        if page["more"] == false {
            break;
        }
    };
    let (mut held, mut cursor, mut turn) = (BTreeMap::new(), 0, 0);
    while !writers.is_empty() {
        turn += 1;
        pull(&servers[turn % 2], &mut cursor, &mut held).await;
        if let Some(done) = writers.try_join_next() {
            done.unwrap();
        }
    }
    pull(&servers[0], &mut cursor, &mut held).await;
    for server in &servers {
        let mut fresh = BTreeMap::new();
        pull(server, &mut 0, &mut fresh).await;
        assert_eq!(held, fresh, "the phone's copy equals a fresh pull");
    }
    assert_eq!(
        held.len() as u64,
        WRITERS * BATCHES * PER_BATCH + 1,
        "and the demo's"
    );
    let numbers = a
        .rows("SELECT count(DISTINCT server_seq) FROM mutations WHERE status = 'applied'")
        .await;
    let records = a
        .rows("SELECT count(*) FROM mutations WHERE status = 'applied'")
        .await;
    assert_eq!(numbers, records, "every record its own number");
}

/// PostgreSQL restored to an earlier point by its own tools: `hongyan mark-restored` breaks the history
/// as `hongyan restore` does on SQLite, and a phone that pulled what the database no longer has resyncs.
#[tokio::test]
async fn a_phone_ahead_of_a_restored_postgresql_resyncs() {
    use super::*;
    let h = Harness::on(Engine::Postgres, |_| {}).await;
    let lead = h.login(LEAD).await;
    for _ in 0..3 {
        h.publish(&lead).await;
    }
    let member = h.login(MEMBER).await;
    let cursor = h.pull(&member, 0).await["cursor"].as_i64().unwrap();
    // The point the database is restored to: before the last two numbers the phone holds.
    db::query("UPDATE counters SET value = $1 WHERE name = 'server_seq'")
        .bind(cursor - 2)
        .execute(&h.db.writer)
        .await
        .unwrap();
    let (kept, resumed) = crate::server::ops::mark_restored(&h.location)
        .await
        .unwrap();
    assert_eq!(kept, cursor - 2);
    assert!(resumed > cursor);
    // The app servers restart after it.
    let after = h.another_server().await;
    let page = after.pull(&member, cursor).await;
    assert_eq!(page["resync"], true, "{page}");
    // Starting again from nothing, it is told where the new history stands.
    let page = after.pull(&member, 0).await;
    assert_ne!(page["resync"], true, "{page}");
    assert_eq!(page["cursor"].as_i64().unwrap(), resumed);
}

/// A stranger guessing a lead's password through two servers by turns is counted once, in the
/// database: the servers do not each give the stranger their own free tries.
#[tokio::test]
async fn guesses_spread_over_two_servers_are_counted_together() {
    use super::*;
    let a = Harness::on(Engine::Postgres, |_| {}).await;
    let b = a.another_server().await;
    let mut checked = 0;
    for i in 0..12 {
        let server = if i % 2 == 0 { &a } else { &b };
        match server.try_login(LEAD, &format!("guess-{i}")).await.status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    // Each server by itself would have checked its own five (ten in all); together, five — and one
    // more if a second passed between two guesses on a slow machine.
    assert!(
        checked <= crate::server::throttle::PHONE.free + 1,
        "{checked} guesses were checked"
    );
    for server in [&a, &b] {
        assert_eq!(
            server.try_login(LEAD, demo::PASSWORD).await.status,
            StatusCode::TOO_MANY_REQUESTS,
            "both servers make the phone wait"
        );
    }
}

/// The move from one machine to several: `hongyan copy-to-postgres` copies a SQLite database whole into a
/// new PostgreSQL database. A lead's phone, with its session and copy from before, pulls on through a
/// server on PostgreSQL and ends with what a fresh pull gives; new accounts, organisations and records get
/// ids after the copied ones; and a database that already holds data is never copied over.
#[tokio::test]
async fn a_sqlite_database_copied_into_postgresql_serves_the_same_phones() {
    use super::life::{HOUR, now_send, publish, sign};
    use super::*;
    let h = Harness::on(Engine::Sqlite, |_| {}).await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let member = h.login(MEMBER).await;
    assert_eq!(now_send(&h, &member, sign(&a, now_ms())).await.0, "applied");
    // A name with what COPY's text format must escape.
    db::query("UPDATE activities SET title = $1 WHERE id = $2")
        .bind("学习\t“两个确立”\\n第二行\n")
        .bind(&a.activity_id)
        .execute(&h.db.writer)
        .await
        .unwrap();
    let mut copy = crate::outbox::Cache::default();
    h.pull_into(&lead, &mut copy).await;
    let sqlite = h.db_path();
    h.db.writer.close().await;
    h.db.reader.close().await;

    // A NUL (which SQLite keeps and PostgreSQL's text cannot) is named, and nothing is half-copied.
    let nul = async |title: &str| {
        let db = Db::open(&sqlite).await.unwrap();
        db::query("UPDATE activities SET place = $1 WHERE id = $2")
            .bind(title)
            .bind(&a.activity_id)
            .execute(&db.writer)
            .await
            .unwrap();
        db.writer.close().await;
        db.reader.close().await;
    };
    nul("会议室\0").await;
    let target: Location = Cluster::get().url().await.parse().unwrap();
    let refused = crate::server::ops::copy_to_postgres(&sqlite, &target)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with("activities.place, row ") && refused.contains("holds a NUL"),
        "{refused}"
    );
    nul("项目部会议室").await;
    let copied = crate::server::ops::copy_to_postgres(&sqlite, &target)
        .await
        .unwrap();
    let rows = |table: &str| copied.iter().find(|(t, _)| t == table).unwrap().1;
    assert!(
        rows("users") >= 10 && rows("attendance") >= 12 && rows("sessions") >= 2,
        "{copied:?}"
    );

    let pg = Harness::serving(target.clone()).await;
    let at = copy.cursor;
    pg.pull_into(&lead, &mut copy).await;
    assert_eq!(copy.cursor, at, "nothing new, and no resync");
    assert_eq!(pg.stale_rows(&lead, &copy).await, Vec::<String>::new());
    assert_eq!(
        pg.rows("SELECT count(*) FROM attendance WHERE status = 'signed_in'")
            .await,
        1
    );

    // New rows take ids after the copied ones, and the sequence goes on.
    let b = publish(&pg, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    assert_eq!(
        now_send(&pg, &member, sign(&b, now_ms())).await.0,
        "applied"
    );
    let admin = pg.login("13800000009").await;
    let org = json!({"parent_id": 1, "name": "新建项目党支部", "form": "temporary_branch", "starts_on": "2026-12-01"});
    let r = pg.call("POST", paths::ORGS, Some(&admin), Some(org)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    pg.pull_into(&lead, &mut copy).await;
    assert_eq!(pg.stale_rows(&lead, &copy).await, Vec::<String>::new());
    assert!(copy.cursor > at);

    let again = crate::server::ops::copy_to_postgres(&sqlite, &target).await;
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("already holds data"),
        "a database in use is never copied over"
    );
    // The SQLite database is retired: a server started on it by mistake resyncs the phone.
    let old = Harness::serving(Location::File(sqlite)).await;
    let r = old
        .try_pull(&lead, &format!("{}&history={}", copy.cursor, copy.history))
        .await;
    assert_eq!(r.body["resync"], true, "{}", r.text);
}
