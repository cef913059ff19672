//! The storm benchmark (`make bench-storm`): the end of a meeting on every site at once, when thousands
//! of phones find the network together and each sends its one sign-in.
//!
//! [`seed`] builds the district (members in branches of fifty, through [`scale::seed`]), publishes one
//! meeting per branch that is on now, opens a session for every member and writes one push per member —
//! a sign-in with the meeting's code — to `requests.tsv`. It also measures the disk: plain SQLite
//! committing one row per transaction and rows in transactions of 100, with the server's own settings
//! (WAL, `synchronous = FULL`), so the server's rate can be read as a ratio of what the disk allows.
//!
//! [`run`] is the load generator: a fixed number of keep-alive HTTP/1.1 connections, each sending its next
//! request as soon as the previous one is answered, over plain sockets (an HTTP client library, or a
//! Node client, would measure itself: Node tops out near 2,000 requests a second here). Three rounds:
//! every push once (new sign-ins), every push again (retries of records already stored), every member
//! pulls.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::auth::start_session;
use super::db::{Db, Sequence, now_ms};
use super::scale::{self, Meeting, Shape};
use super::sync;
use crate::api::{Change, Mutation, PROTOCOL, PushRequest, ReceiptStatus, Settings, SignIn, paths};
use crate::life::code_at;
use crate::model::uuid_v7;
use crate::server::db;

type Failure = Box<dyn std::error::Error>;

/// The requests file, one line per member: the session token, a tab, the push's JSON body.
pub const REQUESTS: &str = "requests.tsv";
/// The database file the server is started on.
pub const DATABASE: &str = "storm.db";

/// Builds the storm's database and requests in `dir`; answers what it built and the disk's commit rates.
pub async fn seed(dir: &Path, members: usize) -> Result<String, Failure> {
    let path = dir.join(DATABASE);
    let branches = (members / 50).max(1);
    let shape = Shape {
        members,
        branches,
        committees: (branches / 20).max(1),
        months: 0,
        detailed_months: 0,
        ..Shape::default()
    };
    scale::seed(&path, &shape, |_| {}).await?;
    let db = Db::open(&path).await?;
    let settings = Settings::default();
    let now = now_ms();
    let mut w = db.writer.acquire().await?;
    let by_branch = scale::people_by_branch(&mut w).await?;

    // One meeting per branch, begun half an hour ago, published by its 书记; a session per member.
    let mut lines = String::new();
    let mut tx = w.begin().await?;
    let mut seq = Sequence::begin(&mut tx).await?;
    for (branch, people) in &by_branch {
        let meeting = Meeting::new(*branch, people, now - 30 * 60_000, 0, &settings);
        for (author, m, _) in meeting.records(false) {
            let receipt = sync::apply(
                &mut tx, &settings, &mut seq, author, "storm", &m, now, None, None,
            )
            .await?;
            if receipt.status != ReceiptStatus::Applied {
                return Err(format!("publishing refused: {:?}", receipt.reason).into());
            }
        }
        let activity = &meeting.activity;
        let code = code_at(&activity.secret, now, activity.code_step_ms);
        for (member, _) in people {
            let (token, _) = start_session(&mut tx, *member, now).await?;
            let sign_in = Change::SignIn(SignIn {
                activity_id: activity.activity_id.clone(),
                code: code.clone(),
                location: None,
            });
            let push = PushRequest {
                device_id: format!("storm-{member}"),
                protocol: PROTOCOL,
                mutations: vec![Mutation::new(
                    1,
                    uuid_v7(now, rand::random()),
                    &sign_in,
                    now,
                    0,
                )],
                history: 0,
            };
            lines.push_str(&format!("{token}\t{}\n", serde_json::to_string(&push)?));
        }
    }
    seq.save(&mut tx).await?;
    tx.commit().await?;
    drop(w);
    // Session tokens: readable by this user only.
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(REQUESTS))?;
        file.write_all(lines.as_bytes())?;
    }
    let (single, batched) = disk_rates(dir).await?;
    Ok(format!(
        "{members} members in {} branches, one meeting each, one sign-in each in {}\n\
         plain SQLite on this disk (WAL, synchronous=FULL): {single:.0} single-row commits/s, \
         {batched:.0} rows/s in transactions of 100",
        by_branch.len(),
        dir.join(REQUESTS).display()
    ))
}

/// Plain SQLite on the disk of `dir`, opened as the server opens its database ([`Db::open`]): single-row
/// transactions a second, and rows a second in transactions of 100 (two seconds each).
pub async fn disk_rates(dir: &Path) -> Result<(f64, f64), Failure> {
    let path = dir.join("disk-rate.db");
    let db = Db::open(&path).await?;
    let mut conn = db.writer.acquire().await?;
    db::query("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        .execute(&mut *conn)
        .await?;
    let payload = "x".repeat(200);
    let mut rate = async |rows_per_commit: usize| -> Result<f64, Failure> {
        let started = Instant::now();
        let mut rows = 0;
        while started.elapsed() < Duration::from_secs(2) {
            let mut tx = conn.begin().await?;
            for _ in 0..rows_per_commit {
                db::query("INSERT INTO t (payload) VALUES ($1)")
                    .bind(&payload)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            rows += rows_per_commit;
        }
        Ok(rows as f64 / started.elapsed().as_secs_f64())
    };
    let single = rate(1).await?;
    let batched = rate(100).await?;
    drop(conn);
    db.writer.close().await;
    db.reader.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok((single, batched))
}

/// One round's requests: the method and path, and per request the token and body.
struct Round {
    label: &'static str,
    method: &'static str,
    path: String,
    requests: Vec<(String, String)>,
    /// What every answer's body must contain.
    expect: &'static str,
}

/// Sends the three rounds to the servers at `addrs` (`host:port`; the connections take turns among them,
/// as behind a load balancer) with `in_flight` connections; answers the report.
pub async fn run(addrs: &[String], dir: &Path, in_flight: usize) -> Result<String, Failure> {
    let text = std::fs::read_to_string(dir.join(REQUESTS))?;
    let pushes: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(token, body)| (token.to_owned(), body.to_owned()))
        .collect();
    let pulls = pushes
        .iter()
        .map(|(token, _)| (token.clone(), String::new()))
        .collect();
    let rounds = [
        Round {
            label: "new sign-ins",
            method: "POST",
            path: paths::PUSH.to_owned(),
            requests: pushes.clone(),
            expect: "\"status\":\"applied\"",
        },
        Round {
            label: "the same again (retries)",
            method: "POST",
            path: paths::PUSH.to_owned(),
            requests: pushes,
            expect: "\"status\":\"duplicate\"",
        },
        Round {
            label: "every member pulls",
            method: "GET",
            path: format!("{}?cursor=0", paths::PULL),
            requests: pulls,
            expect: "\"activities\":[{",
        },
    ];
    let mut report = Vec::new();
    for round in rounds {
        report.push(send(addrs, round, in_flight).await?);
    }
    Ok(report.join("\n"))
}

/// Sends every request of `round` over `in_flight` connections; answers a line: requests a second, p50,
/// p99. Fails if any answer is not 200 or lacks what the round expects.
async fn send(addrs: &[String], round: Round, in_flight: usize) -> Result<String, Failure> {
    let round = Arc::new(round);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..in_flight {
        let addr = addrs[worker % addrs.len()].clone();
        let (round, next) = (round.clone(), next.clone());
        workers.spawn(async move {
            let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", round.label);
            let stream = tokio::net::TcpStream::connect(&addr)
                .await
                .map_err(|e| failed(&e))?;
            stream.set_nodelay(true).map_err(|e| failed(&e))?;
            let mut stream = BufReader::new(stream);
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((token, body)) = round.requests.get(i) else {
                    break;
                };
                let sent = Instant::now();
                let head = format!(
                    "{} {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    round.method,
                    round.path,
                    body.len()
                );
                let mut request = head.into_bytes();
                request.extend_from_slice(body.as_bytes());
                stream
                    .get_mut()
                    .write_all(&request)
                    .await
                    .map_err(|e| failed(&e))?;
                let (status, answer) = read_response(&mut stream).await.map_err(|e| failed(&e))?;
                latencies.push(sent.elapsed());
                if status != 200 || !answer.contains(round.expect) {
                    let answer: String = answer.chars().take(300).collect();
                    return Err(failed(&format!("request {i} answered {status}: {answer}")));
                }
            }
            Ok::<_, String>(latencies)
        });
    }
    let mut latencies = Vec::new();
    while let Some(done) = workers.join_next().await {
        latencies.extend(done??);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    Ok(format!(
        "{:<26} {:>6} requests in {seconds:.2} s = {:>6.0}/s   p50 {:>5.1} ms   p99 {:>5.1} ms",
        round.label,
        latencies.len(),
        latencies.len() as f64 / seconds,
        at(0.50),
        at(0.99)
    ))
}

/// Reads one HTTP/1.1 response with a `Content-Length` body: its status and body.
async fn read_response(
    stream: &mut BufReader<tokio::net::TcpStream>,
) -> Result<(u16, String), Failure> {
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP status line: {line:?}"))?;
    let mut length = None;
    loop {
        line.clear();
        stream.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let length = length
        .filter(|&n| n <= 64 << 20)
        .ok_or("the answer has no Content-Length, or over 64 MiB")?;
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
