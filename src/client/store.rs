//! What the phone keeps in localStorage: the session, the device id, and per user the outbox and the
//! cached server data.
//!
//! Each outbox record has its own key (`hongyan.v1.<user>.rec.<id>`) plus a small index, so every write is
//! small and either happens whole or not at all. Partitions are per user and survive logout and expired
//! sessions: a record waits for its own author to come back online. Every write reports a full storage.

use gloo_storage::errors::StorageError;
use gloo_storage::{LocalStorage, Storage};
use serde::{Deserialize, Serialize};

use crate::api::Me;
use crate::model::Millis;
use crate::outbox::{self, Cache, Entry};

const SESSION: &str = "hongyan.session";
const DEVICE: &str = "hongyan.device";

/// The signed-in person. `expired` is set on a 401: the person stays known (and so does their outbox)
/// until they log in again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub expires_at: Millis,
    pub user: Me,
    #[serde(default)]
    pub expired: bool,
}

/// Writing failed: the storage is full or the browser refuses it (private mode).
#[derive(Clone, Debug, PartialEq)]
pub struct StoreFull;

impl StoreFull {
    pub const MESSAGE: &'static str =
        "手机存储空间已满，这条记录未能保存。请清理手机存储空间后重试，已保存的记录不受影响。";
}

fn key(user_id: i64, part: &str) -> String {
    format!("hongyan.v1.{user_id}.{part}")
}

fn set<T: Serialize>(key: &str, value: &T) -> Result<(), StoreFull> {
    LocalStorage::set(key, value).map_err(|_| StoreFull)
}

pub fn load_session() -> Option<Session> {
    LocalStorage::get(SESSION).ok()
}

pub fn save_session(session: &Session) -> Result<(), StoreFull> {
    set(SESSION, session)
}

pub fn clear_session() {
    LocalStorage::delete(SESSION);
}

/// 长辈模式 on this phone: a setting of the phone's display, not of a person, so logging out keeps it.
/// `public/boot.js` reads the same key to apply it before the app has loaded.
const ELDER: &str = "hongyan.elder";

pub fn elder_mode() -> bool {
    LocalStorage::get::<bool>(ELDER).unwrap_or(false)
}

pub fn set_elder_mode(on: bool) -> Result<(), StoreFull> {
    set(ELDER, &on)
}

/// Whether this user gave their separate consent (单独同意) to location sign-in on this phone. Withdrawing it
/// takes effect at once: the app asks for no fix without it.
pub fn location_consent(user_id: i64) -> bool {
    LocalStorage::get::<bool>(format!("hongyan.v1.{user_id}.location-consent")).unwrap_or(false)
}

pub fn set_location_consent(user_id: i64, consent: bool) -> Result<(), StoreFull> {
    let key = format!("hongyan.v1.{user_id}.location-consent");
    if consent {
        set(&key, &true)
    } else {
        LocalStorage::delete(key);
        Ok(())
    }
}

/// The public key this phone registered for this person (see `signing`).
pub fn registered_key(user_id: i64) -> Option<String> {
    LocalStorage::get(key(user_id, "signing-key")).ok()
}

pub fn set_registered_key(user_id: i64, public_key: &str) -> Result<(), StoreFull> {
    set(&key(user_id, "signing-key"), &public_key)
}

/// Forgets that the server knows this phone's key (its database was restored): the key is registered again.
pub fn forget_registered_key(user_id: i64) {
    LocalStorage::delete(key(user_id, "signing-key"));
}

/// This browser's device id, made once.
pub fn device_id() -> String {
    if let Ok(id) = LocalStorage::get::<String>(DEVICE) {
        return id;
    }
    let id = super::new_id();
    // If this write fails the id is remade next time; the server keys devices by id and user, so that
    // only starts a new sequence, it never loses a record.
    let _ = set(DEVICE, &id);
    id
}

/// The next mutation number for this device and user: 1, 2, 3 …
pub fn next_seq(user_id: i64) -> Result<u64, StoreFull> {
    let k = key(user_id, "seq");
    let next = LocalStorage::get::<u64>(&k).unwrap_or(0) + 1;
    set(&k, &next)?;
    Ok(next)
}

fn index(user_id: i64) -> Vec<String> {
    LocalStorage::get(key(user_id, "outbox")).unwrap_or_default()
}

/// The user's outbox, oldest first, with records of older app versions upgraded in place
/// ([`outbox::migrate`]). A record this version cannot read (from a newer app, or damaged) is left
/// untouched in storage and counted in `unreadable`; so is a record whose author is someone else.
pub fn load_entries(user_id: i64) -> Loaded {
    let mut loaded = Loaded::default();
    for id in index(user_id) {
        let k = key(user_id, &format!("rec.{id}"));
        let stored = match LocalStorage::get::<Entry>(&k) {
            Ok(entry) => entry,
            Err(StorageError::KeyNotFound(_)) => continue,
            Err(_) => {
                loaded.unreadable += 1;
                continue;
            }
        };
        let old_format = stored.format != outbox::FORMAT;
        match outbox::migrate(stored, user_id) {
            Ok(entry) if entry.author == user_id => {
                // Write the upgrade back so it happens once; if storage is full, it happens again next time.
                if old_format {
                    let _ = set(&k, &entry);
                }
                loaded.entries.push(entry);
            }
            Ok(_) | Err(_) => loaded.unreadable += 1,
        }
    }
    loaded
}

#[derive(Default)]
pub struct Loaded {
    pub entries: Vec<Entry>,
    /// Records kept in storage that this version does not send.
    pub unreadable: usize,
}

/// Writes one record; a new one is added to the index only after its own key is written.
pub fn put_entry(user_id: i64, entry: &Entry) -> Result<(), StoreFull> {
    let id = &entry.mutation.id;
    set(&key(user_id, &format!("rec.{id}")), entry)?;
    let mut ids = index(user_id);
    if !ids.contains(id) {
        ids.push(id.clone());
        if let Err(full) = set(&key(user_id, "outbox"), &ids) {
            LocalStorage::delete(key(user_id, &format!("rec.{id}")));
            return Err(full);
        }
    }
    Ok(())
}

/// Forgets delivered records (never pending ones: the caller passes only delivered ids).
pub fn remove_entries(user_id: i64, ids: &[String]) {
    if ids.is_empty() {
        return;
    }
    let kept: Vec<String> = index(user_id)
        .into_iter()
        .filter(|id| !ids.contains(id))
        .collect();
    // Shrinking the index cannot exceed the quota; if it fails anyway the records just stay longer.
    if set(&key(user_id, "outbox"), &kept).is_ok() {
        for id in ids {
            LocalStorage::delete(key(user_id, &format!("rec.{id}")));
        }
    }
}

pub fn load_cache(user_id: i64) -> Cache {
    LocalStorage::get(key(user_id, "cache")).unwrap_or_default()
}

pub fn save_cache(user_id: i64, cache: &Cache) -> Result<(), StoreFull> {
    set(&key(user_id, "cache"), cache)
}

/// Logging out: what the server can send again leaves the phone (the cache, delivered records); what
/// exists only here stays — records not yet sent, and refused ones (kept as evidence), photos waiting to
/// go up — for this person's next login.
pub fn forget_cache(user_id: i64) {
    LocalStorage::delete(key(user_id, "cache"));
    let delivered: Vec<String> = load_entries(user_id)
        .entries
        .into_iter()
        .filter(|e| matches!(e.state, outbox::EntryState::Delivered { .. }))
        .map(|e| e.mutation.id)
        .collect();
    remove_entries(user_id, &delivered);
}

/// 退出并清除本机数据: everything of this person on this phone, unsent records included.
pub fn clear_person(user_id: i64) {
    let prefix = format!("hongyan.v1.{user_id}.");
    for k in app_keys().into_iter().filter(|k| k.starts_with(&prefix)) {
        LocalStorage::delete(k);
    }
}

/// The keys this app keeps in localStorage.
fn app_keys() -> Vec<String> {
    let Ok(Some(storage)) = leptos::prelude::window().local_storage() else {
        return Vec::new();
    };
    (0..storage.length().unwrap_or(0))
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|k| k.starts_with("hongyan."))
        .collect()
}

/// Records waiting on this phone for other people who used it (user switch), by user id.
pub fn others_pending(user_id: i64) -> Vec<(i64, usize)> {
    app_keys()
        .iter()
        .filter_map(|k| {
            k.strip_prefix("hongyan.v1.")?
                .strip_suffix(".outbox")?
                .parse::<i64>()
                .ok()
        })
        .filter(|&other| other != user_id)
        .map(|other| {
            let entries = load_entries(other).entries;
            (other, entries.iter().filter(|e| e.is_pending()).count())
        })
        .filter(|&(_, pending)| pending > 0)
        .collect()
}

/// Bytes this app keeps in localStorage (UTF-16, as browsers count them against their ~5 MB limit).
pub fn bytes_used() -> usize {
    app_keys()
        .into_iter()
        .map(|k| {
            let value = LocalStorage::raw()
                .get_item(&k)
                .ok()
                .flatten()
                .unwrap_or_default();
            (k.encode_utf16().count() + value.encode_utf16().count()) * 2
        })
        .sum()
}

/// Evidence photos waiting to be uploaded, by study record id (kept apart from the outbox: a photo is large
/// and optional, and goes up once its record has arrived).
fn evidence_index(user_id: i64) -> Vec<String> {
    LocalStorage::get(key(user_id, "evidence")).unwrap_or_default()
}

pub fn put_evidence(user_id: i64, study_id: &str, data_url: &str) -> Result<(), StoreFull> {
    set(&key(user_id, &format!("evidence.{study_id}")), &data_url)?;
    let mut ids = evidence_index(user_id);
    if !ids.iter().any(|i| i == study_id) {
        ids.push(study_id.to_owned());
        if let Err(full) = set(&key(user_id, "evidence"), &ids) {
            LocalStorage::delete(key(user_id, &format!("evidence.{study_id}")));
            return Err(full);
        }
    }
    Ok(())
}

/// The photos still on this phone: (study record id, data URL).
pub fn pending_evidence(user_id: i64) -> Vec<(String, String)> {
    evidence_index(user_id)
        .into_iter()
        .filter_map(|id| {
            let url = LocalStorage::get::<String>(key(user_id, &format!("evidence.{id}"))).ok()?;
            Some((id, url))
        })
        .collect()
}

pub fn remove_evidence(user_id: i64, study_id: &str) {
    let kept: Vec<String> = evidence_index(user_id)
        .into_iter()
        .filter(|id| id != study_id)
        .collect();
    if set(&key(user_id, "evidence"), &kept).is_ok() {
        LocalStorage::delete(key(user_id, &format!("evidence.{study_id}")));
    }
}
