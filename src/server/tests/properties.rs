//! Property tests of the push handler: random batches of publications, sign-ins and confirmations with gaps
//! in `seq`, replays, reordering, records repeated within a batch and the same batch pushed concurrently,
//! from several devices of several people.
//! After every case the database must agree exactly with the receipts the devices were given, and each
//! device's copy, pulled after every step as the app pulls, must equal a fresh pull.
//!
//! Each case prints its seed; `HONGYAN_SEED=<seed> cargo test --features server --lib properties` replays it.

use std::collections::{HashMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tokio::task::JoinSet;

use super::{Harness, LEAD, new_id, now_ms};
use crate::api::{Change, Confirm, Mutation, NewActivity, PushResponse, ReceiptStatus, SignIn};
use crate::life::{SignInClaim, SignInProof, judge_sign_in};
use crate::model::ActivityKind;
use crate::outbox::Cache;
use crate::server::db;

const CASES: u64 = 8;
const STEPS: usize = 40;
/// Members of the lead's branch (each on the roster of every activity the lead publishes).
const MEMBERS: [&str; 3] = ["13800000002", "13800000004", "13800000005"];
/// Five members of the branch and a guest from another.
const ROSTER: i64 = 6;

struct Device {
    token: String,
    id: String,
    user_id: i64,
    is_lead: bool,
    next_seq: u64,
    sent: Vec<Mutation>,
    /// What the device pulled after every step, kept as the app keeps it.
    copy: Cache,
}

/// What the devices were told about one record, and what it was.
struct Told {
    status: ReceiptStatus,
    server_seq: i64,
    author: i64,
    change: Change,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_batches_end_with_the_database_agreeing_with_every_receipt() {
    let seeds: Vec<u64> = match std::env::var("HONGYAN_SEED") {
        Ok(s) => vec![s.parse().expect("HONGYAN_SEED is a number")],
        Err(_) => (0..CASES).map(|_| rand::random()).collect(),
    };
    for seed in seeds {
        println!("push property case: HONGYAN_SEED={seed}");
        run_case(seed).await;
    }
}

async fn run_case(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let h = Harness::new().await;
    let mut devices = Vec::new();
    // The lead on one phone; the first member on two phones.
    for (phone, copies) in [(LEAD, 1), (MEMBERS[0], 2), (MEMBERS[1], 1), (MEMBERS[2], 1)] {
        let user_id = h.user_id(phone).await;
        for _ in 0..copies {
            devices.push(Device {
                token: h.login(phone).await,
                id: new_id(),
                user_id,
                is_lead: phone == LEAD,
                next_seq: 0,
                sent: Vec::new(),
                copy: Cache::default(),
            });
        }
    }
    // The lead confirms others (their own 确认 is a statement of their own: see the life tests).
    let member_ids: Vec<i64> = devices
        .iter()
        .filter(|d| !d.is_lead)
        .map(|d| d.user_id)
        .collect();
    // Activities the lead has made (sent or not): (id, code).
    let mut activities: Vec<(String, String)> = Vec::new();
    let mut told: HashMap<String, Told> = HashMap::new();

    for _ in 0..STEPS {
        let d = rng.gen_range(0..devices.len());
        let mut batch = Vec::new();
        for _ in 0..rng.gen_range(1..=8) {
            let device = &mut devices[d];
            if !device.sent.is_empty() && rng.gen_bool(0.3) {
                batch.push(device.sent.choose(&mut rng).unwrap().clone());
                continue;
            }
            // Gaps: a phone may skip numbers (a record made and lost before it was saved).
            device.next_seq += if rng.gen_bool(0.2) {
                rng.gen_range(2..5)
            } else {
                1
            };
            let change = if activities.is_empty() || (device.is_lead && rng.gen_bool(0.6)) {
                new_activity(&mut rng, &mut activities)
            } else if device.is_lead {
                // The lead confirms someone, maybe before their sign-in, maybe for an activity that
                // does not exist yet or was refused (then the confirmation is quarantined).
                let (id, _) = activities.choose(&mut rng).unwrap().clone();
                Change::Confirm(Confirm {
                    activity_id: id,
                    member_id: *member_ids.choose(&mut rng).unwrap(),
                })
            } else {
                let (id, code) = activities.choose(&mut rng).unwrap().clone();
                let code = if rng.gen_bool(0.2) {
                    "000000".to_owned()
                } else {
                    code
                };
                Change::SignIn(SignIn {
                    activity_id: id,
                    code,
                    ..Default::default()
                })
            };
            let m = Mutation::new(device.next_seq, new_id(), &change, now_ms(), 0);
            device.sent.push(m.clone());
            batch.push(m);
        }
        if rng.gen_bool(0.2) {
            let again = batch[rng.gen_range(0..batch.len())].clone();
            batch.push(again);
        }
        batch.shuffle(&mut rng);

        // Sometimes the same batch leaves twice at once (two tabs, or a retry racing the original).
        let copies = if rng.gen_bool(0.25) { 2 } else { 1 };
        let mut pushes = JoinSet::new();
        for _ in 0..copies {
            let (h, token, device_id, batch) = (
                h.clone(),
                devices[d].token.clone(),
                devices[d].id.clone(),
                batch.clone(),
            );
            pushes.spawn(async move {
                let r = h.push(&token, &device_id, &batch).await;
                assert_eq!(r.status, 200, "seed {seed}: {}", r.text);
                (
                    batch,
                    serde_json::from_value::<PushResponse>(r.body).unwrap(),
                )
            });
        }
        // Copies sent at once may be committed in one group and answered together: the copy that
        // stored the records is the one with fewer duplicates, whichever answer came first.
        let mut answers = pushes.join_all().await;
        answers.sort_by_key(|(_, response)| {
            let receipts = &response.receipts;
            receipts
                .iter()
                .filter(|r| r.status == ReceiptStatus::Duplicate)
                .count()
        });
        for (batch, response) in answers {
            assert_eq!(response.receipts.len(), batch.len(), "seed {seed}");
            for (m, receipt) in batch.iter().zip(&response.receipts) {
                assert_eq!(receipt.id, m.id, "seed {seed}: receipts in request order");
                match told.get(&m.id) {
                    None => {
                        assert_ne!(
                            receipt.status,
                            ReceiptStatus::Duplicate,
                            "seed {seed}: {m:?}"
                        );
                        told.insert(
                            m.id.clone(),
                            Told {
                                status: receipt.status,
                                server_seq: receipt.server_seq,
                                author: devices[d].user_id,
                                change: m.change().unwrap(),
                            },
                        );
                    }
                    Some(first) => {
                        let expected = match first.status {
                            ReceiptStatus::Quarantined => ReceiptStatus::Quarantined,
                            _ => ReceiptStatus::Duplicate,
                        };
                        assert_eq!(receipt.status, expected, "seed {seed}: {m:?}");
                        assert_eq!(receipt.server_seq, first.server_seq, "seed {seed}");
                    }
                }
            }
        }
        for device in &mut devices {
            h.pull_into(&device.token, &mut device.copy).await;
        }
    }
    check_database(&h, seed, &told).await;
    // Every change to a row gave it a new version: no copy misses one.
    for device in &devices {
        let stale = h.stale_rows(&device.token, &device.copy).await;
        assert!(
            stale.is_empty(),
            "seed {seed}: the copy of device {} differs from a fresh pull: {stale:#?}",
            device.id
        );
    }
}

fn new_activity(rng: &mut StdRng, activities: &mut Vec<(String, String)>) -> Change {
    let now = now_ms();
    let id = new_id();
    let code = format!("{:06}", rng.gen_range(1..1_000_000));
    // One in ten is broken (ends before it starts) and must be quarantined.
    let ends_at = if rng.gen_bool(0.1) {
        now - 120_000
    } else {
        now + 3_600_000
    };
    activities.push((id.clone(), code.clone()));
    Change::CreateActivity(NewActivity {
        activity_id: id,
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        place: "项目部".into(),
        starts_at: now - 60_000,
        ends_at,
        code,
        ..Default::default()
    })
}

/// The database holds exactly what the receipts said: each record once, with the told status and
/// sequence, each applied effect once, and no sequence number spent on a retry.
async fn check_database(h: &Harness, seed: u64, told: &HashMap<String, Told>) {
    let stored: Vec<(String, String, i64, i64)> =
        db::query_as("SELECT id, status, server_seq, user_id FROM mutations")
            .fetch_all(&h.db.reader)
            .await
            .unwrap();
    assert_eq!(stored.len(), told.len(), "seed {seed}: one row per record");
    for (id, status, server_seq, user_id) in &stored {
        let t = &told[id];
        let expected = if t.status == ReceiptStatus::Quarantined {
            "quarantined"
        } else {
            "applied"
        };
        assert_eq!(
            (status.as_str(), *server_seq, *user_id),
            (expected, t.server_seq, t.author),
            "seed {seed}: {id}"
        );
    }
    let seqs: HashSet<i64> = stored.iter().map(|r| r.2).collect();
    assert_eq!(
        seqs.len(),
        stored.len(),
        "seed {seed}: server sequences are unique"
    );
    // The demo activity took one number; every other number went to a stored record.
    let counter = h
        .rows("SELECT value FROM counters WHERE name = 'server_seq'")
        .await;
    assert_eq!(
        counter,
        1 + stored.len() as i64,
        "seed {seed}: no number spent on a retry"
    );

    let applied = |want: fn(&Change) -> bool| {
        told.values()
            .filter(move |t| t.status == ReceiptStatus::Applied && want(&t.change))
    };
    let published = applied(|c| matches!(c, Change::CreateActivity(_))).count() as i64;
    assert_eq!(
        h.rows("SELECT count(*) FROM activities").await,
        1 + published,
        "seed {seed}"
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM attendance").await,
        ROSTER * (1 + published),
        "seed {seed}: one roster row per member per activity"
    );
    let signed: HashSet<(String, i64)> = applied(|c| matches!(c, Change::SignIn(_)))
        .filter_map(|t| match &t.change {
            Change::SignIn(s) => Some((s.activity_id.clone(), t.author)),
            _ => None,
        })
        .collect();
    let confirmed: HashSet<(String, i64)> = applied(|c| matches!(c, Change::Confirm(_)))
        .filter_map(|t| match &t.change {
            Change::Confirm(c) => Some((c.activity_id.clone(), c.member_id)),
            _ => None,
        })
        .collect();
    let pairs = async |sql: &str| -> HashSet<(String, i64)> {
        db::query_as(sql)
            .fetch_all(&h.db.reader)
            .await
            .unwrap()
            .into_iter()
            .collect()
    };
    let rows = "SELECT activity_id, member_id FROM attendance WHERE";
    let with_record = pairs(&format!("{rows} record_id IS NOT NULL")).await;
    assert_eq!(
        with_record, signed,
        "seed {seed}: one sign-in per member and activity"
    );
    let stored = pairs(&format!("{rows} status = 'confirmed'")).await;
    assert_eq!(
        stored, confirmed,
        "seed {seed}: confirmed, whatever arrived first"
    );
    let waiting: HashSet<_> = signed.difference(&confirmed).cloned().collect();
    let stored = pairs(&format!("{rows} status = 'signed_in'")).await;
    assert_eq!(stored, waiting, "seed {seed}: signed in, not yet confirmed");
    // A sign-in its code does not prove is kept and flagged, until one it proves arrives — judged in the
    // order the server received them, with the limits on wrong codes and on sign-ins an hour.
    let mut received: Vec<&Told> = told
        .values()
        .filter(|t| matches!(t.change, Change::SignIn(_)))
        .collect();
    received.sort_by_key(|t| t.server_seq);
    let mut per_person: HashMap<i64, u32> = HashMap::new();
    let mut proofs: HashMap<(String, i64), SignInProof> = HashMap::new();
    for t in received {
        let checked_this_hour = per_person.entry(t.author).or_default();
        *checked_this_hour += 1;
        let Change::SignIn(s) = &t.change else {
            continue;
        };
        if t.status != ReceiptStatus::Applied {
            continue;
        }
        let proof = proofs.entry((s.activity_id.clone(), t.author)).or_default();
        let claim = SignInClaim {
            wrong_codes: proof.wrong_codes,
            checked_this_hour: *checked_this_hour,
            by_location: false,
            before_last_sync: false,
        };
        proof.take(judge_sign_in(claim, || s.code != "000000"));
    }
    let expected: HashSet<(String, i64)> = proofs
        .into_iter()
        .filter(|(_, p)| p.unverified)
        .map(|(pair, _)| pair)
        .collect();
    let flagged = pairs(&format!("{rows} code_unverified")).await;
    assert_eq!(
        flagged, expected,
        "seed {seed}: flagged exactly where the rules say no code proved it"
    );
}
