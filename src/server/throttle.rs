//! Slowing down guessing — passwords, invitation codes — without letting a stranger lock anyone out.
//!
//! Every guess is counted **before** it is checked: [`Throttle::attempt`] takes the lock, checks each key
//! and counts the attempt as a failure in one step, and only a success takes it back. So a hundred guesses
//! sent at once are judged one after another, not all against the count before any of them failed.
//!
//! After a few free failures each key has to wait before its next attempt, twice as long each time up to
//! a cap: **delays, never bans.** The keys of a login are the phone number and the caller's address; a
//! phone that has logged in to this account before (its device id, which only that browser knows) is
//! judged by its own key alone, so a stranger hammering a lead's number does not keep the lead's own phone
//! out before a meeting. A server-wide budget of failures per minute slows down a spread-out attack on
//! many accounts at once; known phones pass it too.
//!
//! Counts live in this process's memory (a restart forgets them) and are bounded in number — or, when
//! several servers share a PostgreSQL database, in its `throttle` tables, so that guesses spread over
//! the servers are counted together. One [`judge`] decides for both.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use crate::server::db::{self, Engine, Pool};

/// How one kind of key is slowed down.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Failures before any waiting.
    pub free: u32,
    /// The longest wait between attempts.
    pub max_wait_ms: i64,
    /// A key this long without an attempt starts afresh.
    pub forget_after_ms: i64,
}

/// A phone number (logins): five tries, then up to a minute between tries.
pub const PHONE: Limits = Limits {
    free: 5,
    max_wait_ms: 60_000,
    forget_after_ms: 15 * 60_000,
};
/// A phone that logged in to this account before.
pub const KNOWN_DEVICE: Limits = Limits {
    free: 10,
    max_wait_ms: 60_000,
    forget_after_ms: 15 * 60_000,
};
/// A caller's address. A site's Wi-Fi puts many members behind one address, so it gets more room.
pub const ADDRESS: Limits = Limits {
    free: 30,
    max_wait_ms: 5 * 60_000,
    forget_after_ms: 60 * 60_000,
};
/// Invitation codes per address.
pub const CODES: Limits = Limits {
    free: 10,
    max_wait_ms: 5 * 60_000,
    forget_after_ms: 60 * 60_000,
};
/// The current password when changing it, per account.
pub const ACCOUNT: Limits = Limits {
    free: 5,
    max_wait_ms: 5 * 60_000,
    forget_after_ms: 60 * 60_000,
};

/// Failures of unknown callers per minute, server-wide, before every unknown caller waits.
const GLOBAL_FAILURES_PER_MINUTE: usize = 600;
/// Keys kept at most (about 100 bytes each).
const MAX_KEYS: usize = 200_000;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    failures: u32,
    last: i64,
}

impl Bucket {
    /// How long after the last attempt the next may come.
    fn wait_ms(&self, limits: Limits) -> i64 {
        match self.failures.checked_sub(limits.free) {
            None => 0,
            Some(over) => 1_000i64
                .saturating_mul(1i64 << over.min(30))
                .min(limits.max_wait_ms),
        }
    }
}

/// One attempt judged on the counts as they stand: how long to wait, or each key's count after it.
/// Keys without a count are `None`. Both stores ([`Throttle`]'s memory, PostgreSQL) judge here.
fn judge(keys: &[(Option<Bucket>, Limits)], now: i64) -> Result<Vec<Bucket>, Wait> {
    let mut longest = 0;
    for (bucket, limits) in keys {
        if let Some(b) = bucket
            && now - b.last < limits.forget_after_ms
        {
            longest = longest.max(b.last + b.wait_ms(*limits) - now);
        }
    }
    if longest > 0 {
        return Err(Wait((longest + 999) / 1_000));
    }
    Ok(keys
        .iter()
        .map(|(bucket, limits)| {
            let mut b = bucket.unwrap_or(Bucket {
                failures: 0,
                last: now,
            });
            if now - b.last >= limits.forget_after_ms {
                b.failures = 0;
            }
            b.failures += 1;
            // Never back in time (another server's clock may be behind).
            b.last = b.last.max(now);
            b
        })
        .collect())
}

/// The server-wide budget: `recent` failures of unknown callers in the last minute, the oldest at `oldest`.
fn judge_global(recent: usize, oldest: Option<i64>, now: i64) -> Result<(), Wait> {
    if recent >= GLOBAL_FAILURES_PER_MINUTE {
        let oldest = oldest.unwrap_or(now);
        return Err(Wait((60_000 - (now - oldest)).max(1_000) / 1_000));
    }
    Ok(())
}

/// The counts: in this process's memory, or — when several servers share a PostgreSQL database — in
/// the database, so that guesses spread over the servers are counted together.
#[derive(Default)]
pub struct Throttle {
    buckets: Mutex<HashMap<String, Bucket>>,
    /// When each recent failure of an unknown caller happened.
    global: Mutex<VecDeque<i64>>,
    shared: Option<Pool>,
}

/// Too many attempts: try again after this many seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait(pub i64);

impl Wait {
    /// `请30秒后再试` / `请5分钟后再试`
    pub fn message(self, what: &str) -> String {
        if self.0 >= 120 {
            format!("{what}，请{}分钟后再试", (self.0 + 59) / 60)
        } else {
            format!("{what}，请{}秒后再试", self.0.max(1))
        }
    }
}

/// One attempt, already counted as a failure; [`Attempt::succeeded`] takes that back.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    keys: Vec<(String, Limits)>,
    global: bool,
    at: i64,
}

/// The row of the `throttle` table whose lock serialises the server-wide budget.
const GLOBAL_ROW: &str = "*";

impl Throttle {
    /// Counts in the database when it is PostgreSQL (several servers may share it), else in memory.
    pub fn for_pool(pool: &Pool) -> Throttle {
        Throttle {
            shared: (pool.engine() == Engine::Postgres).then(|| pool.clone()),
            ..Throttle::default()
        }
    }

    /// Counts an attempt on every key, or answers how long to wait when any key must wait. `global`:
    /// the caller is unknown and also spends the server-wide budget.
    pub async fn attempt(
        &self,
        keys: &[(String, Limits)],
        global: bool,
        now: i64,
    ) -> Result<Result<Attempt<'_>, Wait>, sqlx::Error> {
        let judged = match &self.shared {
            Some(pool) => shared_attempt(pool, keys, global, now).await?,
            None => self.memory_attempt(keys, global, now),
        };
        Ok(judged.map(|()| Attempt {
            throttle: self,
            keys: keys.to_vec(),
            global,
            at: now,
        }))
    }

    fn memory_attempt(
        &self,
        keys: &[(String, Limits)],
        global: bool,
        now: i64,
    ) -> Result<(), Wait> {
        if global {
            let mut recent = self.global.lock().unwrap_or_else(|p| p.into_inner());
            while recent.front().is_some_and(|&t| now - t >= 60_000) {
                recent.pop_front();
            }
            judge_global(recent.len(), recent.front().copied(), now)?;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > MAX_KEYS {
            buckets.retain(|_, b| now - b.last < ADDRESS.forget_after_ms);
        }
        let counted: Vec<(Option<Bucket>, Limits)> = keys
            .iter()
            .map(|(key, limits)| (buckets.get(key).copied(), *limits))
            .collect();
        let after = judge(&counted, now)?;
        if buckets.len() + keys.len() > MAX_KEYS {
            return Err(Wait(60));
        }
        for ((key, _), bucket) in keys.iter().zip(after) {
            buckets.insert(key.clone(), bucket);
        }
        drop(buckets);
        if global {
            self.global
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_back(now);
        }
        Ok(())
    }
}

/// [`Throttle::attempt`] on PostgreSQL: in one transaction, each key's row locked (in key order, so two
/// attempts never wait for each other in a circle) and the server-wide budget's row too when it counts.
async fn shared_attempt(
    pool: &Pool,
    keys: &[(String, Limits)],
    global: bool,
    now: i64,
) -> Result<Result<(), Wait>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The keys in order, then the budget's row: every transaction locks in the same order.
    let mut names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if global {
        names.push(GLOBAL_ROW);
    }
    let mut counts = HashMap::new();
    for name in names {
        // Made if missing and locked, in one statement (a row removed meanwhile is made again).
        let (failures, last): (i64, i64) = db::query_as(
            "INSERT INTO throttle (key, failures, last) VALUES ($1, 0, $2)
             ON CONFLICT (key) DO UPDATE SET key = excluded.key RETURNING failures, last",
        )
        .bind(name)
        .bind(now)
        .fetch_one(&mut tx)
        .await?;
        let failures = db::to_u32(failures);
        counts.insert(name, Bucket { failures, last });
    }
    if global {
        db::query("DELETE FROM throttle_failures WHERE at <= $1")
            .bind(now - 60_000)
            .execute(&mut tx)
            .await?;
        let (recent, oldest): (i64, Option<i64>) =
            db::query_as("SELECT count(*), min(at) FROM throttle_failures")
                .fetch_one(&mut tx)
                .await?;
        if let Err(wait) = judge_global(recent as usize, oldest, now) {
            return Ok(Err(wait));
        }
    }
    let counted: Vec<(Option<Bucket>, Limits)> = keys
        .iter()
        .map(|(key, limits)| (counts.get(key.as_str()).copied(), *limits))
        .collect();
    let after = match judge(&counted, now) {
        Ok(after) => after,
        Err(wait) => return Ok(Err(wait)),
    };
    for ((key, _), bucket) in keys.iter().zip(after) {
        db::query("UPDATE throttle SET failures = $1, last = $2 WHERE key = $3")
            .bind(bucket.failures)
            .bind(bucket.last)
            .bind(key)
            .execute(&mut tx)
            .await?;
    }
    if global {
        db::query("INSERT INTO throttle_failures (at) VALUES ($1)")
            .bind(now)
            .execute(&mut tx)
            .await?;
    }
    tx.commit().await?;
    // Now and then, the keys nobody has tried for longer than any key is remembered, a thousand at a
    // time, passing over rows an attempt holds.
    if rand::random::<u8>() < 4 {
        db::query(
            "DELETE FROM throttle WHERE key IN (SELECT key FROM throttle WHERE last < $1 AND key != $2
                                                LIMIT 1000 FOR UPDATE SKIP LOCKED)",
        )
        .bind(now - ADDRESS.forget_after_ms.max(CODES.forget_after_ms))
        .bind(GLOBAL_ROW)
        .execute(pool)
        .await?;
    }
    Ok(Ok(()))
}

impl Attempt<'_> {
    /// The guess was right: the keys of this person start afresh (an address only gives this attempt
    /// back, so one's own login does not clear a neighbour's guessing).
    pub async fn succeeded(self, fresh: &[&str]) {
        if let Some(pool) = &self.throttle.shared {
            if let Err(e) = self.shared_success(pool, fresh).await {
                // The attempt stays counted as a failure: a wait a little early, nothing worse.
                tracing::warn!("a successful attempt was not given back: {e}");
            }
            return;
        }
        let mut buckets = self
            .throttle
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for (key, _) in &self.keys {
            if fresh.contains(&key.as_str()) {
                buckets.remove(key);
            } else if let Some(b) = buckets.get_mut(key) {
                b.failures = b.failures.saturating_sub(1);
            }
        }
        drop(buckets);
        if self.global {
            let mut recent = self
                .throttle
                .global
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(at) = recent.iter().rposition(|&t| t == self.at) {
                recent.remove(at);
            }
        }
    }

    async fn shared_success(&self, pool: &Pool, fresh: &[&str]) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        // In the order attempts lock them.
        let mut keys: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        for key in keys {
            let sql = if fresh.contains(&key) {
                "DELETE FROM throttle WHERE key = $1"
            } else {
                "UPDATE throttle SET failures = greatest(failures - 1, 0) WHERE key = $1"
            };
            db::query(sql).bind(key).execute(&mut tx).await?;
        }
        if self.global {
            db::query(
                "DELETE FROM throttle_failures
                 WHERE ctid = (SELECT ctid FROM throttle_failures WHERE at = $1 LIMIT 1)",
            )
            .bind(self.at)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await
    }
}

/// The network an address belongs to, as guessing is counted: the /24 of an IPv4 address, the /64 of an
/// IPv6 one (one subscriber gets a whole /64, so single IPv6 addresses cost a stranger nothing).
pub fn network_of(address: &str) -> String {
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => address.to_owned(),
    }
}

/// Requests without a session in progress per network: a few slow connections from one place cannot hold
/// every slot the server gives such requests.
#[derive(Default)]
pub struct InFlight {
    counts: Mutex<HashMap<String, usize>>,
}

/// A slot of [`InFlight`], given back when dropped.
pub struct Slot<'a> {
    in_flight: &'a InFlight,
    key: String,
}

impl InFlight {
    /// Most such requests one network may have in progress at once.
    pub const PER_NETWORK: usize = 8;

    pub fn take(&self, key: &str) -> Option<Slot<'_>> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(key.to_owned()).or_default();
        if *n >= Self::PER_NETWORK {
            return None;
        }
        *n += 1;
        Some(Slot {
            in_flight: self,
            key: key.to_owned(),
        })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut counts = self
            .in_flight
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone() -> Vec<(String, Limits)> {
        vec![("phone:138".to_owned(), PHONE)]
    }

    /// The same rules in both stores: this process's memory, and a PostgreSQL database of its own.
    async fn stores() -> [Throttle; 2] {
        let location: crate::server::Location = crate::server::tests::postgres::Cluster::get()
            .url()
            .await
            .parse()
            .unwrap();
        crate::server::ops::migrate(&location).await.unwrap();
        let db = crate::server::db::Db::connect(&location).await.unwrap();
        [Throttle::default(), Throttle::for_pool(&db.reader)]
    }

    #[tokio::test]
    async fn after_the_free_failures_each_attempt_waits_twice_as_long_up_to_the_cap() {
        for t in stores().await {
            for _ in 0..PHONE.free {
                drop(t.attempt(&phone(), false, 0).await.unwrap().unwrap());
            }
            assert_eq!(
                t.attempt(&phone(), false, 0).await.unwrap().err(),
                Some(Wait(1))
            );
            drop(t.attempt(&phone(), false, 1_000).await.unwrap().unwrap());
            assert_eq!(
                t.attempt(&phone(), false, 1_000).await.unwrap().err(),
                Some(Wait(2))
            );
            let mut now = 1_000;
            for _ in 0..20 {
                now += 60_000;
                drop(t.attempt(&phone(), false, now).await.unwrap().unwrap());
            }
            assert_eq!(
                t.attempt(&phone(), false, now).await.unwrap().err(),
                Some(Wait(60)),
                "a delay, never a ban"
            );
            assert!(
                t.attempt(&phone(), false, now + PHONE.forget_after_ms)
                    .await
                    .unwrap()
                    .is_ok()
            );
        }
    }

    #[tokio::test]
    async fn a_success_gives_the_person_a_fresh_start_and_the_address_only_its_attempt() {
        let t = Throttle::default();
        let keys = vec![
            ("phone:138".to_owned(), PHONE),
            ("addr:1.2.3.4".to_owned(), ADDRESS),
        ];
        for _ in 0..4 {
            drop(t.attempt(&keys, true, 0).await.unwrap().unwrap());
        }
        t.attempt(&keys, true, 0)
            .await
            .unwrap()
            .unwrap()
            .succeeded(&["phone:138"])
            .await;
        let buckets = t.buckets.lock().unwrap();
        assert!(!buckets.contains_key("phone:138"));
        assert_eq!(buckets["addr:1.2.3.4"].failures, 4);
        assert_eq!(t.global.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn the_server_wide_budget_slows_unknown_callers_only() {
        for t in stores().await {
            for i in 0..GLOBAL_FAILURES_PER_MINUTE {
                let key = vec![(format!("phone:{i}"), PHONE)];
                drop(t.attempt(&key, true, 0).await.unwrap().unwrap());
            }
            let fresh = vec![("phone:new".to_owned(), PHONE)];
            assert_eq!(
                t.attempt(&fresh, true, 1_000).await.unwrap().err(),
                Some(Wait(59))
            );
            assert!(
                t.attempt(&fresh, false, 1_000).await.unwrap().is_ok(),
                "a known phone passes"
            );
            assert!(
                t.attempt(&fresh, true, 60_000).await.unwrap().is_ok(),
                "a minute later"
            );
        }
    }

    #[test]
    fn addresses_are_counted_by_network() {
        assert_eq!(network_of("203.0.113.9"), "203.0.113.0/24");
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("unknown"), "unknown");
        let flights = InFlight::default();
        let held: Vec<_> = (0..InFlight::PER_NETWORK)
            .map(|_| flights.take("n").unwrap())
            .collect();
        assert!(flights.take("n").is_none());
        assert!(flights.take("m").is_some());
        drop(held);
        assert!(flights.take("n").is_some());
    }

    #[test]
    fn waits_read_in_seconds_or_minutes() {
        assert_eq!(
            Wait(30).message("登录失败次数过多"),
            "登录失败次数过多，请30秒后再试"
        );
        assert_eq!(Wait(300).message("x"), "x，请5分钟后再试");
    }
}
