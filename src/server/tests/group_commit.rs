//! Group commit answers exactly as one push at a time would.
//!
//! Random sequences of pushes — new sign-ins, wrong codes, records for unknown activities, records
//! refused before they are applied (an altered signature), invalid ids, a lead's confirmations, retries
//! of records sent earlier (in the same group or an earlier one), the same record twice in one push and
//! ids that belong to someone else, and pushes that fail on the database (a trigger refuses one record
//! of a push) — are committed twice from the same database: once all queued together (the committer
//! takes them in groups), once each push in a group of its own. Every push's answer and every row of every
//! table must be the same: a failed push gives back the sequence numbers it took.
//!
//! Each case prints its seed; `HONGYAN_SEED=<seed> cargo test --features server --lib group_commit`
//! replays it.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, oneshot};

use super::{CADRE, Harness, LEAD, MEMBER, new_id, now_ms, sign_in};
use crate::api::{Change, Confirm, Mutation, SignIn};
use crate::model::Role;
use crate::server::Db;
use crate::server::auth::{Person, find_person};
use crate::server::commit::{Push, commit_group};
use crate::server::db::{self, Engine};

const CASES: u64 = 6;
const PUSHES: usize = 14;

#[tokio::test]
async fn a_group_answers_each_push_exactly_as_one_push_at_a_time_would() {
    // It compares against a copy of the database (`VACUUM INTO`) with a SQLite trigger that breaks
    // records: SQLite's alone for now.
    if super::engine() == Engine::Postgres {
        return;
    }
    let seeds: Vec<u64> = match std::env::var("HONGYAN_SEED") {
        Ok(s) => vec![s.parse().expect("HONGYAN_SEED is a number")],
        Err(_) => (0..CASES).map(|_| rand::random()).collect(),
    };
    for seed in seeds {
        println!("group commit case: HONGYAN_SEED={seed}");
        run_case(seed).await;
    }
}

async fn run_case(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let activities = [h.publish(&lead).await, h.publish(&lead).await];
    let mut people = Vec::new();
    for phone in [LEAD, MEMBER, CADRE] {
        let mut conn = h.db.reader.acquire().await.unwrap();
        let id = h.user_id(phone).await;
        people.push(find_person(&mut conn, id).await.unwrap().unwrap());
    }
    let member_ids: Vec<i64> = people[1..].iter().map(|p| p.id).collect();

    // The pushes, each one author's records from that author's phone.
    let start = now_ms();
    let mut sent: Vec<(Person, Mutation)> = Vec::new();
    let mut pushes = Vec::new();
    for i in 0..PUSHES {
        let author = *people.choose(&mut rng).unwrap();
        let mut mutations = Vec::new();
        let mut refusals = Vec::new();
        for _ in 0..rng.gen_range(1..=4) {
            let (activity, code) = activities.choose(&mut rng).unwrap().clone();
            let fresh = |change: &Change, seq: usize| {
                Mutation::new(seq as u64, new_id(), change, start + i as i64, 0)
            };
            let mut refused = None;
            let m = match rng.gen_range(0..10) {
                // A retry of a record sent before (by its author, or someone else using its id).
                0 | 1 if !sent.is_empty() => sent.choose(&mut rng).unwrap().1.clone(),
                2 if author.role == Role::Lead => fresh(
                    &Change::Confirm(Confirm {
                        activity_id: activity,
                        member_id: *member_ids.choose(&mut rng).unwrap(),
                    }),
                    i,
                ),
                3 => {
                    let sign_in = SignIn {
                        activity_id: new_id(),
                        code,
                        ..Default::default()
                    };
                    fresh(&Change::SignIn(sign_in), i)
                }
                4 => {
                    refused = Some("记录与签名不符（可能被改动或伪造），未予接收".to_owned());
                    let sign_in = SignIn {
                        activity_id: activity,
                        code,
                        ..Default::default()
                    };
                    fresh(&Change::SignIn(sign_in), i)
                }
                5 => {
                    let sign_in = SignIn {
                        activity_id: activity,
                        code,
                        ..Default::default()
                    };
                    let mut m = fresh(&Change::SignIn(sign_in), i);
                    m.id = String::new();
                    m
                }
                kind => {
                    let sign_in = SignIn {
                        activity_id: activity,
                        code: if kind == 6 { "000000".to_owned() } else { code },
                        ..Default::default()
                    };
                    fresh(&Change::SignIn(sign_in), i)
                }
            };
            if rng.gen_bool(0.1) {
                // The same record twice in one push.
                mutations.push(m.clone());
                refusals.push(refused.clone());
            }
            sent.push((author, m.clone()));
            mutations.push(m);
            refusals.push(refused);
        }
        // Now and then (always once) a push that fails: its last record fails on the database.
        let broken = i == PUSHES / 2 || rng.gen_bool(0.1);
        if broken {
            let (activity, _) = activities.choose(&mut rng).unwrap().clone();
            let sign_in = SignIn {
                activity_id: activity,
                code: "broken".to_owned(),
                ..Default::default()
            };
            let m = Mutation::new(i as u64, new_id(), &Change::SignIn(sign_in), start, 0);
            // Last, so that the records before it have taken sequence numbers when it fails.
            mutations.push(m);
            refusals.push(None);
        }
        pushes.push(Push {
            author,
            device_id: format!("phone-{}", author.id),
            mutations,
            refusals,
            imported_by: None,
            now: start + i as i64,
            // Counted again in the transaction (far from the quota here: it must change nothing).
            near_quota: rng.gen_bool(0.3),
        });
    }

    // Some records fail on the database, as with a full disk or a broken index.
    db::query(
        "CREATE TRIGGER broken_record BEFORE INSERT ON mutations
         WHEN NEW.payload LIKE '%\"code\":\"broken\"%'
         BEGIN SELECT RAISE(ABORT, 'this record fails'); END",
    )
    .execute(&h.db.writer)
    .await
    .unwrap();

    // The same database twice.
    let copy = h._dir.path().join("copy.db");
    db::query("VACUUM INTO $1")
        .bind(copy.display().to_string())
        .execute(&h.db.writer)
        .await
        .unwrap();
    let alone_db = Db::open(&copy).await.unwrap();

    let (together, groups) = commit_all(&h.db, pushes.clone()).await;
    assert!(
        groups < PUSHES,
        "seed {seed}: the pushes were committed in {groups} groups, not together"
    );
    let mut alone = Vec::new();
    for push in pushes {
        let before = last_seq(&alone_db).await;
        let (answer, _) = commit_all(&alone_db, vec![push]).await;
        if answer[0].is_err() {
            assert_eq!(
                last_seq(&alone_db).await,
                before,
                "seed {seed}: a failed push kept the sequence numbers it took"
            );
        }
        alone.extend(answer);
    }
    assert_eq!(together, alone, "seed {seed}: the answers differ");
    assert!(
        together.iter().any(|answer| answer.is_err()),
        "seed {seed}: no push failed"
    );
    for table in tables(&h.db).await {
        assert_eq!(
            dump(&h.db, &table).await,
            dump(&alone_db, &table).await,
            "seed {seed}: table {table} differs"
        );
    }
}

/// A retry of records already stored (the answer to the first push was lost) is answered from what is
/// stored: it does not wait for the writer, and writes nothing. A new record does wait for it.
#[tokio::test]
async fn a_retry_is_answered_without_a_write() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let records = [sign_in(1, &activity, &code)];
    let first = h.push(&member, "phone", &records).await;
    assert_eq!(
        first.body["receipts"][0]["status"], "applied",
        "{}",
        first.text
    );

    // Every write waits while the test holds the one writer connection.
    let held = h.db.writer.acquire().await.unwrap();
    let wait = std::time::Duration::from_secs(5);
    let again = tokio::time::timeout(wait, h.push(&member, "phone", &records))
        .await
        .expect("a retry was answered without the writer");
    assert_eq!(again.body["receipts"][0]["status"], "duplicate");
    assert_eq!(
        again.body["receipts"][0]["server_seq"],
        first.body["receipts"][0]["server_seq"]
    );
    let (other, other_code) = {
        drop(held);
        h.publish(&lead).await
    };
    let held = h.db.writer.acquire().await.unwrap();
    let new = [sign_in(2, &other, &other_code)];
    let waited = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        h.push(&member, "phone", &new),
    )
    .await;
    assert!(waited.is_err(), "a new record needs the writer");
    drop(held);
}

/// Queues every push, then lets the committer's group function take them as it would: answers (the
/// receipts, or the error's text) in order, and how many groups it took.
async fn commit_all(db: &Db, pushes: Vec<Push>) -> (Vec<Result<String, String>>, usize) {
    let (queue, mut waiting) = mpsc::channel(pushes.len());
    let mut answers = Vec::new();
    for push in pushes {
        let (reply, answer) = oneshot::channel();
        queue.send((push, reply)).await.unwrap();
        answers.push(answer);
    }
    drop(queue);
    let mut groups = 0;
    while let Some((first, reply)) = waiting.recv().await {
        let mut replies = vec![reply];
        let mut conn = db.writer.acquire().await.unwrap();
        let group = commit_group(&mut conn, first, &mut waiting, &mut replies)
            .await
            .expect("the group commits");
        groups += 1;
        for (reply, answer) in replies.into_iter().zip(group) {
            reply.send(answer).unwrap();
        }
    }
    let mut out = Vec::new();
    for answer in answers {
        out.push(match answer.await.unwrap() {
            Ok(receipts) => Ok(serde_json::to_string(&receipts).unwrap()),
            Err(e) => Err(e.to_string()),
        });
    }
    (out, groups)
}

async fn last_seq(db: &Db) -> i64 {
    db::query_scalar("SELECT value FROM counters WHERE name = 'server_seq'")
        .fetch_one(&db.reader)
        .await
        .unwrap()
}

async fn tables(db: &Db) -> Vec<String> {
    db::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&db.reader)
    .await
    .unwrap()
}

/// Every row of `table`, ordered by all its columns, as JSON text.
async fn dump(db: &Db, table: &str) -> String {
    let columns: Vec<String> =
        db::query_scalar::<String>(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .fetch_all(&db.reader)
            .await
            .unwrap()
            .iter()
            .map(|name| format!("\"{name}\""))
            .collect();
    let order: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
    db::query_scalar(&format!(
        "SELECT coalesce(json_group_array(json_array({})), '[]') FROM (SELECT * FROM \"{table}\" ORDER BY {})",
        columns.join(", "),
        order.join(", ")
    ))
    .fetch_one(&db.reader)
    .await
    .unwrap()
}
