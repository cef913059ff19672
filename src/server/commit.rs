//! Group commit: the pushes waiting for the database are applied together and committed once.
//!
//! When the signal comes back for a whole site at once, thousands of phones each send a few records. A
//! commit costs a flush to disk (`synchronous = FULL`), and a push used to pay for one of its own, so the
//! disk's flush rate was the server's push rate. Now one task per server, the committer, owns the write
//! path of pushes and imports:
//!
//! - It takes the first push waiting, opens one write transaction and applies it; then, while the group
//!   is under [`MAX_GROUP_RECORDS`] records and [`MAX_GROUP_TIME`] of applying, it takes the next push
//!   already waiting — never waiting for company, so a lone push is committed at once. Pushes gather
//!   while the previous group's commit is being flushed.
//! - Each push is applied inside a savepoint of its own, exactly as it would be alone ([`sync::store`]):
//!   each record decided one by one, a quarantined record isolated in its own savepoint within. A push
//!   that fails on the database is rolled back to its savepoint and answered with the error; the rest
//!   of the group goes on, and its server sequence numbers are taken back, so the sequence has no holes.
//! - One commit, then each push is answered with its own receipts: no receipt is sent for anything that
//!   is not durable. If the commit fails, every push of the group is answered with the error and the
//!   phones send again (their records' ids make that harmless).
//! - Pushes are applied in the order they arrived, in one transaction at a time on the one writer
//!   connection, so server sequence numbers still commit in order (see db.rs).
//!
//! Authentication, JSON parsing, signature checks, the daily quota and answering retries from what is
//! already stored ([`sync::already_stored`]) all happen before a push reaches the committer, on the
//! request's own task.

use std::time::{Duration, Instant};

use crate::server::db::{self, Conn, Pool};
use tokio::sync::{mpsc, oneshot};

use super::AppError;
use super::auth::Person;
use super::db::Sequence;
use super::sync;
use crate::api::{Mutation, Receipt, Settings};

/// Records one group holds at most (a full push is [`crate::api::MAX_BATCH`]).
pub const MAX_GROUP_RECORDS: usize = 2_000;
/// Applying stops taking more pushes into a group after this long, so that the first push's answer
/// does not wait behind a queue that keeps filling.
pub const MAX_GROUP_TIME: Duration = Duration::from_millis(20);
/// Pushes waiting for the committer at most (a few groups' worth). Further pushes wait up to
/// [`QUEUE_WAIT`] for a place, then are answered 503 and their phones send again later.
const QUEUE: usize = 256;
const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// One push (or import) on its way to the database: one author's records from one phone, with the
/// refusals judged before it came.
#[derive(Clone, Debug)]
pub struct Push {
    pub author: Person,
    pub device_id: String,
    pub mutations: Vec<Mutation>,
    /// One per record: why it must be quarantined instead of applied, if it must.
    pub refusals: Vec<Option<String>>,
    /// Who imported a file of someone else's records.
    pub imported_by: Option<i64>,
    /// When the request was received (every receipt's `received_at`).
    pub now: i64,
    /// The author is near the daily quota: count their records again inside the transaction.
    pub near_quota: bool,
}

type Answer = Result<Vec<Receipt>, AppError>;
/// A push waiting for the committer, with where its answer goes.
pub(super) type Waiting = (Push, oneshot::Sender<Answer>);

/// The way to the committer task. Cheap to clone; the task ends when the last clone is dropped.
#[derive(Clone)]
pub struct Committer {
    queue: mpsc::Sender<Waiting>,
}

impl Committer {
    /// Starts the committer on `writer` (the one-connection pool every write goes through).
    pub fn start(writer: Pool) -> Committer {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(run(writer, waiting));
        Committer { queue }
    }

    /// Stores `push` in the next group; answers its receipts once the group is committed.
    pub async fn store(&self, push: Push) -> Answer {
        let (reply, answer) = oneshot::channel();
        let stopped = || AppError::Internal("the committer has stopped".to_owned());
        match tokio::time::timeout(QUEUE_WAIT, self.queue.send((push, reply))).await {
            Err(_) => return Err(AppError::Busy),
            Ok(Err(_)) => return Err(stopped()),
            Ok(Ok(())) => {}
        }
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(writer: Pool, mut waiting: mpsc::Receiver<Waiting>) {
    while let Some((first, reply)) = waiting.recv().await {
        let mut replies = vec![reply];
        let answers = match writer.acquire().await {
            Ok(mut conn) => commit_group(&mut conn, first, &mut waiting, &mut replies).await,
            Err(e) => Err(e.into()),
        };
        match answers {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A caller that has gone away (the phone hung up) sends again later.
                    let _ = reply.send(answer);
                }
            }
            // The database out of reach for now: every push of the group is told to come again.
            Err(AppError::Busy) => {
                tracing::warn!("a group of {} pushes waits for the database", replies.len());
                for reply in replies {
                    let _ = reply.send(Err(AppError::Busy));
                }
            }
            Err(e) => {
                tracing::error!("a group of {} pushes was not committed: {e}", replies.len());
                for reply in replies {
                    let _ =
                        reply.send(Err(AppError::Internal(format!("group not committed: {e}"))));
                }
            }
        }
    }
}

/// Applies `first` and whatever is already waiting behind it (within the group's bounds) in one
/// transaction, and commits. The reply channel of every push taken is added to `replies`, in order; on
/// `Ok`, the answers are in the same order. On `Err` nothing was committed.
pub(super) async fn commit_group(
    conn: &mut dyn Conn,
    first: Push,
    waiting: &mut mpsc::Receiver<Waiting>,
    replies: &mut Vec<oneshot::Sender<Answer>>,
) -> Result<Vec<Answer>, AppError> {
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let mut seq = Sequence::begin(&mut tx).await?;
    // The district's, as every server reads them (see settings.rs).
    let settings = &super::settings::load(&mut *tx).await?;
    let mut records = first.mutations.len();
    let mut answers = vec![store_in_savepoint(&mut tx, settings, &mut seq, &first).await?];
    while records < MAX_GROUP_RECORDS && started.elapsed() < MAX_GROUP_TIME {
        let Ok((push, reply)) = waiting.try_recv() else {
            break;
        };
        replies.push(reply);
        records += push.mutations.len();
        answers.push(store_in_savepoint(&mut tx, settings, &mut seq, &push).await?);
    }
    seq.save(&mut tx).await?;
    tx.commit().await?;
    Ok(answers)
}

/// One push inside its own savepoint. A database error — or a panic in an applier, which stays inside
/// its push as it would inside its request — rolls back only this push (its answer is the error) and
/// gives back the sequence numbers it took; the group fails only if even that fails.
async fn store_in_savepoint(
    conn: &mut dyn Conn,
    settings: &Settings,
    seq: &mut Sequence,
    push: &Push,
) -> Result<Answer, AppError> {
    use futures_util::FutureExt;
    db::query("SAVEPOINT push").execute(&mut *conn).await?;
    let mark = seq.mark();
    let answer = std::panic::AssertUnwindSafe(sync::store(conn, settings, seq, push))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(AppError::Internal("an applier panicked".to_owned())));
    if answer.is_err() {
        db::query("ROLLBACK TO push").execute(&mut *conn).await?;
        seq.rewind(mark);
    }
    db::query("RELEASE push").execute(&mut *conn).await?;
    Ok(answer)
}
