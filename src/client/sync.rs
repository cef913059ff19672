//! The app's shared state and the sync loop that moves the outbox to the server and pulls changes back.
//!
//! The page drives sync (not the service worker): on start, on the `online` event, when the page becomes visible, after
//! each new record, on the 立即同步 button, and on a timer — every 5 minutes when all is well, with
//! capped, jittered backoff after failures. It never gives up while records wait.

use std::cell::Cell;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::http::{self, ApiError};
use super::signing;
use super::store::{self, Session, StoreFull};
use super::{new_id, now_ms};
use crate::api::{
    ActivityView, Change, Evidence, LoginResponse, Mutation, PROTOCOL, PushRequest, Receipt, paths,
};
use crate::model::{Role, backoff_ms};
use crate::outbox::{self, Cache, Entry};

/// Records per push: small enough that a request gets through a weak signal and that a long queue shows
/// progress; the page stays responsive between batches.
pub const BATCH: usize = 25;
/// How often to pull when nothing is failing.
const IDLE_SYNC_MS: u64 = 5 * 60_000;

#[derive(Clone, Debug, PartialEq)]
pub enum SyncStatus {
    Idle,
    /// Sending: `sent` of `total` records so far.
    Syncing {
        sent: usize,
        total: usize,
    },
    Offline,
    Failed(String),
    LoginNeeded,
    UpdateNeeded(String),
}

/// Everything the pages share. All fields are signals, so the struct is `Copy`.
#[derive(Clone, Copy)]
pub struct Ctx {
    pub session: RwSignal<Option<Session>>,
    pub entries: RwSignal<Vec<Entry>>,
    pub cache: RwSignal<Cache>,
    pub status: RwSignal<SyncStatus>,
    /// A message that needs the person's attention (storage full, …).
    pub notice: RwSignal<Option<String>>,
    /// Whether the browser granted persistent storage (None until known).
    pub persisted: RwSignal<Option<bool>>,
    /// Records kept on the phone that this version of the app cannot send (written by a newer one).
    pub unreadable: RwSignal<usize>,
    /// What the service worker has stored of the app, for opening it with no signal.
    pub offline: RwSignal<Offline>,
}

/// What the service worker has stored: nothing yet, the stages up to one (see [`Role::offline_stage`]), or
/// nothing ever (a browser without service workers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offline {
    Downloading,
    Stored(u8),
    Unsupported,
}

impl Offline {
    /// Whether every page of `role` (the login form's, signed out) would open with no signal.
    pub fn ready_for(self, role: Option<Role>) -> Option<bool> {
        match self {
            Offline::Unsupported => None,
            Offline::Downloading => Some(false),
            Offline::Stored(stage) => Some(stage >= role.map_or(0, Role::offline_stage)),
        }
    }
}

thread_local! {
    static IN_FLIGHT: Cell<bool> = const { Cell::new(false) };
    static AGAIN: Cell<bool> = const { Cell::new(false) };
    static FAILURES: Cell<u32> = const { Cell::new(0) };
    static TIMER: Cell<u64> = const { Cell::new(0) };
}

impl Ctx {
    /// Loads what the phone has, wires the sync triggers and starts the first sync.
    pub fn start() -> Ctx {
        let session = store::load_session();
        let ctx = Ctx {
            session: RwSignal::new(None),
            entries: RwSignal::new(Vec::new()),
            cache: RwSignal::new(Cache::default()),
            status: RwSignal::new(SyncStatus::Idle),
            notice: RwSignal::new(None),
            persisted: RwSignal::new(None),
            unreadable: RwSignal::new(0),
            offline: RwSignal::new(Offline::Downloading),
        };
        if let Some(session) = session {
            ctx.load_partition(session.user.id);
            ctx.session.set(Some(session));
        }
        // The handles are dropped on purpose: these listeners live as long as the page.
        let _ = window_event_listener_untyped("online", move |_| ctx.sync_now());
        let _ = window_event_listener_untyped("visibilitychange", move |_| {
            if document().visibility_state() == web_sys::VisibilityState::Visible {
                ctx.sync_now();
            }
        });
        // Another tab of the app wrote to storage (a record, a receipt, a login): show the same.
        let _ = window_event_listener_untyped("storage", move |ev| {
            let key = js_sys::Reflect::get(&ev, &"key".into())
                .ok()
                .and_then(|k| k.as_string());
            if key.is_none_or(|k| k.starts_with("hongyan.")) {
                ctx.reload();
            }
        });
        spawn_local(async move { ctx.persisted.set(super::request_persistence().await) });
        spawn_local(async move {
            ctx.offline.set(if super::offline_ready().await {
                Offline::Stored(super::offline_stage())
            } else {
                Offline::Unsupported
            })
        });
        let _ = window_event_listener_untyped("hongyan-offline", move |_| {
            ctx.offline.set(Offline::Stored(super::offline_stage()));
        });
        // The browser refused the service worker (`boot.js`): nothing will be stored.
        let _ = window_event_listener_untyped("hongyan-offline-refused", move |_| {
            ctx.offline.set(Offline::Unsupported);
        });
        ctx.sync_now();
        ctx
    }

    /// Reads the session, outbox and cache again from storage.
    fn reload(&self) {
        let session = store::load_session();
        match &session {
            Some(s) => self.load_partition(s.user.id),
            None => {
                self.entries.set(Vec::new());
                self.cache.set(Cache::default());
            }
        }
        if session != self.session.get_untracked() {
            self.session.set(session);
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        self.session.with(|s| s.as_ref().map(|s| s.user.id))
    }

    /// The session's bearer token, for online-only requests.
    pub fn token(&self) -> Option<String> {
        self.session
            .with_untracked(|s| s.as_ref().map(|s| s.token.clone()))
    }

    pub fn role(&self) -> Option<Role> {
        self.session.with(|s| s.as_ref().map(|s| s.user.role))
    }

    pub fn pending_count(&self) -> usize {
        self.entries
            .with(|e| e.iter().filter(|e| e.is_pending()).count())
    }

    /// After a successful login: remember the session and switch to this user's partition. The previous
    /// user's records stay in theirs.
    pub fn signed_in(&self, resp: LoginResponse) {
        let session = Session {
            token: resp.token,
            expires_at: resp.expires_at,
            user: resp.user,
            expired: false,
        };
        if store::save_session(&session).is_err() {
            self.notice.set(Some(StoreFull::MESSAGE.to_owned()));
        }
        // What happened to the account since this phone last logged in (a reset, a new password …).
        if !resp.notices.is_empty() {
            self.notice.set(Some(format!(
                "账号提醒：{}。如果这不是您本人申请或知情的，请立即联系党委或区委组织部。",
                resp.notices.join("；")
            )));
        }
        self.load_partition(session.user.id);
        self.session.set(Some(session));
        self.status.set(SyncStatus::Idle);
        FAILURES.set(0);
        self.sync_now();
    }

    /// Switches the page to one person's outbox and cache.
    fn load_partition(&self, user_id: i64) {
        let loaded = store::load_entries(user_id);
        self.entries.set(loaded.entries);
        self.unreadable.set(loaded.unreadable);
        let mut cache = store::load_cache(user_id);
        if let Some(role) = self.role() {
            cache.hold_for(role, user_id);
        }
        self.cache.set(cache);
    }

    /// Logs out. The cached server data leaves the phone; unsent records stay and are sent the next time
    /// this person logs in. With `clear`, they go too (退出并清除本机数据).
    pub fn log_out(&self, clear: bool) {
        if let Some(s) = self.session.get_untracked() {
            let user_id = s.user.id;
            if clear {
                store::clear_person(user_id);
                spawn_local(signing::forget_key(user_id));
            } else {
                store::forget_cache(user_id);
            }
            spawn_local(async move { http::logout(&s.token).await });
        }
        store::clear_session();
        // A reminder about the account is for its owner, not the next person holding the phone.
        self.notice.set(None);
        self.session.set(None);
        self.entries.set(Vec::new());
        self.cache.set(Cache::default());
    }

    /// Saves a new record on the phone first, then tries to send it.
    pub fn record(&self, change: Change) -> Result<(), String> {
        let user_id = self.user_id().ok_or("请先登录")?;
        let seq = store::next_seq(user_id).map_err(|_| StoreFull::MESSAGE)?;
        let (offset, synced_at) = self
            .cache
            .with_untracked(|c| (c.server_offset_ms, c.synced_at));
        let mut mutation = Mutation::new(seq, new_id(), &change, now_ms(), offset);
        mutation.synced_at = synced_at;
        let entry = Entry::new(user_id, mutation);
        store::put_entry(user_id, &entry).map_err(|_| StoreFull::MESSAGE)?;
        self.entries.update(|e| e.push(entry));
        self.sync_now();
        Ok(())
    }

    /// Records the server's receipts in the outbox; returns how many records changed state.
    pub fn apply_receipts(&self, receipts: &[Receipt]) -> usize {
        let Some(user_id) = self.user_id() else {
            return 0;
        };
        let mut changed = Vec::new();
        self.entries
            .update(|e| changed = outbox::apply_receipts(e, receipts));
        for entry in &changed {
            if store::put_entry(user_id, entry).is_err() {
                self.notice.set(Some(StoreFull::MESSAGE.to_owned()));
            }
        }
        let mut forgot = false;
        self.cache.maybe_update(|c| {
            forgot = c.forget_refused(&changed);
            forgot
        });
        if forgot {
            self.save_cache();
        }
        changed.len()
    }

    /// The server's database was restored from a backup (the cache starts again, see [`Cache::restart`]):
    /// everything delivered goes back to waiting, the signing key is registered again, and another round
    /// sends them.
    fn send_again(&self, user_id: i64) {
        let mut changed = Vec::new();
        self.entries.update(|e| changed = outbox::send_again(e));
        for entry in &changed {
            if store::put_entry(user_id, entry).is_err() {
                self.notice.set(Some(StoreFull::MESSAGE.to_owned()));
            }
        }
        store::forget_registered_key(user_id);
        AGAIN.set(true);
    }

    /// Shows an activity as the lead just published, edited, cancelled or closed it, before the server
    /// has the record (the next pull brings the server's version).
    pub fn put_local_activity(&self, activity: ActivityView) {
        self.cache.update(
            |c| match c.activities.iter_mut().find(|a| a.id == activity.id) {
                Some(a) => *a = activity,
                None => c.activities.insert(0, activity),
            },
        );
        self.save_cache();
    }

    /// This phone's clock corrected by its last known offset to the server's: the time the rules use.
    pub fn server_now(&self) -> i64 {
        now_ms() + self.cache.with_untracked(|c| c.server_offset_ms)
    }

    pub fn save_cache(&self) {
        let Some(user_id) = self.user_id() else {
            return;
        };
        if self
            .cache
            .with_untracked(|c| store::save_cache(user_id, c))
            .is_err()
        {
            self.notice.set(Some(StoreFull::MESSAGE.to_owned()));
        }
    }

    /// Marks the session as expired after a 401; nothing is dropped.
    pub fn session_expired(&self) {
        self.session.update(|s| {
            if let Some(s) = s {
                s.expired = true;
                let _ = store::save_session(s);
            }
        });
        self.status.set(SyncStatus::LoginNeeded);
    }

    /// Starts a sync now, or right after the one in flight.
    pub fn sync_now(&self) {
        if IN_FLIGHT.get() {
            AGAIN.set(true);
            return;
        }
        IN_FLIGHT.set(true);
        let ctx = *self;
        spawn_local(async move {
            loop {
                AGAIN.set(false);
                let outcome = ctx.sync_once().await;
                ctx.after(outcome);
                if !AGAIN.get() {
                    break;
                }
            }
            IN_FLIGHT.set(false);
        });
    }

    async fn sync_once(&self) -> Result<(), ApiError> {
        let Some(session) = self.session.get_untracked() else {
            return Ok(());
        };
        if session.expired {
            return Err(ApiError::Unauthorized(String::new()));
        }
        let user_id = session.user.id;
        signing::ensure_registered(&session.token, user_id).await?;
        self.sign_unsigned(user_id).await;
        let total = self.pending_count();
        let mut sent = 0;
        loop {
            let batch = self
                .entries
                .with_untracked(|e| outbox::next_batch(e, BATCH));
            if batch.is_empty() {
                break;
            }
            self.status.set(SyncStatus::Syncing { sent, total });
            let request = PushRequest {
                device_id: store::device_id(),
                protocol: PROTOCOL,
                mutations: batch,
                history: self.cache.with_untracked(|c| c.history),
            };
            let before = now_ms();
            let resp = match http::push(&session.token, &request).await {
                Err(ApiError::HistoryChanged) => {
                    self.cache.update(Cache::restart);
                    self.save_cache();
                    self.send_again(user_id);
                    return Ok(());
                }
                answer => answer?,
            };
            if self.user_id() != Some(user_id) {
                // Someone else logged in meanwhile: these receipts are not for their outbox. The records
                // stay pending in their author's partition and get a `duplicate` receipt next time.
                return Ok(());
            }
            self.note_server_time(before, resp.server_time);
            let changed = self.apply_receipts(&resp.receipts);
            sent += request.mutations.len();
            self.cache.update(|c| c.last_push = Some(now_ms()));
            if changed == 0 {
                // The server answered but moved nothing: stop instead of sending the same batch forever.
                break;
            }
        }
        self.upload_evidence(&session.token, user_id).await?;
        let expired = self
            .entries
            .with_untracked(|e| outbox::expired_deliveries(e, now_ms()));
        store::remove_entries(user_id, &expired);
        self.entries
            .update(|e| e.retain(|x| !expired.contains(&x.mutation.id)));

        self.status.set(SyncStatus::Syncing { sent, total });
        // Page by page until the server has nothing more; each page is saved, so a cut connection
        // resumes where it stopped.
        loop {
            let (cursor, history) = self.cache.with_untracked(|c| (c.cursor, c.history));
            let before = now_ms();
            let pulled = http::pull(&session.token, cursor, history).await?;
            if self.user_id() != Some(user_id) {
                return Ok(());
            }
            self.note_server_time(before, pulled.server_time);
            let more = pulled.more && pulled.cursor > cursor;
            if pulled.resync {
                self.send_again(user_id);
            }
            self.cache.update(|c| {
                c.merge(pulled);
                c.last_pull = Some(now_ms());
            });
            self.save_cache();
            if !more {
                return Ok(());
            }
        }
    }

    /// Signs the records waiting on this phone that are not signed yet (see `signing`), and keeps them so.
    pub async fn sign_unsigned(&self, user_id: i64) {
        let entries = self.entries.get_untracked();
        let signed = signing::sign_unsigned(user_id, &entries).await;
        if signed.is_empty() || self.user_id() != Some(user_id) {
            return;
        }
        for entry in &signed {
            if store::put_entry(user_id, entry).is_err() {
                self.notice.set(Some(StoreFull::MESSAGE.to_owned()));
                return;
            }
        }
        self.entries.update(|entries| {
            for e in entries.iter_mut() {
                if let Some(s) = signed.iter().find(|s| s.mutation.id == e.mutation.id) {
                    e.mutation.sig = s.mutation.sig.clone();
                }
            }
        });
    }

    /// Uploads the evidence photos whose study records the server has (a photo of a record still waiting
    /// stays until the record is delivered; one the server refuses is dropped with its reason shown).
    async fn upload_evidence(&self, token: &str, user_id: i64) -> Result<(), ApiError> {
        for (study_id, data_url) in store::pending_evidence(user_id) {
            let arrived = self
                .cache
                .with_untracked(|c| c.study.iter().any(|s| s.id == study_id))
                || self
                    .entries
                    .with_untracked(|e| outbox::delivered_study(e, &study_id));
            if !arrived {
                continue;
            }
            let path = paths::evidence(&study_id);
            match http::put::<_, ()>(token, &path, &Evidence { data_url }).await {
                Ok(()) => store::remove_evidence(user_id, &study_id),
                Err(ApiError::Rejected(m)) => {
                    store::remove_evidence(user_id, &study_id);
                    self.notice.set(Some(format!("证明材料未能上传：{m}")));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Remembers the device's offset to the server clock, measured at the middle of the round trip.
    fn note_server_time(&self, sent_at: i64, server_time: i64) {
        let midpoint = sent_at + (now_ms() - sent_at) / 2;
        self.cache
            .update(|c| c.server_offset_ms = server_time - midpoint);
    }

    fn after(&self, outcome: Result<(), ApiError>) {
        let failures = match outcome {
            Ok(()) => {
                FAILURES.set(0);
                self.status.set(SyncStatus::Idle);
                schedule(*self, IDLE_SYNC_MS);
                return;
            }
            Err(ApiError::Unauthorized(_)) => {
                // Nothing to retry until the person logs in again; login restarts sync.
                self.session_expired();
                return;
            }
            Err(e) => {
                self.status.set(match e {
                    ApiError::Offline => SyncStatus::Offline,
                    ApiError::UpgradeRequired(m) => SyncStatus::UpdateNeeded(m),
                    other => SyncStatus::Failed(other.message()),
                });
                FAILURES.get() + 1
            }
        };
        FAILURES.set(failures);
        schedule(*self, backoff_ms(failures, js_sys::Math::random()));
    }
}

/// Replaces any pending timer with one that syncs after `ms`.
fn schedule(ctx: Ctx, ms: u64) {
    let generation = TIMER.get() + 1;
    TIMER.set(generation);
    set_timeout(
        move || {
            if TIMER.get() == generation {
                ctx.sync_now();
            }
        },
        Duration::from_millis(ms),
    );
}
