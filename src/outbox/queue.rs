//! The outbox itself: records waiting for the server, in the format they are stored in, and how receipts
//! move them on (a record leaves `Pending` only through a receipt).

use super::*;

/// Version of the stored outbox format. A new version comes with a migration of the old one ([`migrate`]),
/// so records written by an older app are delivered by the newer one.
///
/// - 1: `{format, mutation, state}`.
/// - 2: adds `author`, the user the record belongs to. A record is only ever sent with its author's
///   session, whatever partition it is found in.
pub const FORMAT: u32 = 2;

/// Delivered records are kept this long so the member can still see their receipt.
pub const KEEP_DELIVERED_MS: Millis = 14 * 24 * 3_600_000;

/// One record made on this phone, with where it is on its way to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub format: u32,
    /// The user id of the person who made the record (absent in format 1).
    #[serde(default)]
    pub author: i64,
    pub mutation: Mutation,
    pub state: EntryState,
}

/// Upgrades a stored record of any format this app knows to [`FORMAT`]. `owner` is the user whose
/// partition it was found in (format 1 had no author of its own).
///
/// `Err` for a record from a newer app: the caller leaves it untouched in storage, never deletes it, and
/// the newer app delivers it after the update.
pub fn migrate(mut stored: Entry, owner: i64) -> Result<Entry, String> {
    match stored.format {
        1 => {
            stored.author = owner;
            stored.format = FORMAT;
            Ok(stored)
        }
        FORMAT => Ok(stored),
        newer => Err(format!("记录格式为第{newer}版，需要更新应用后才能上传")),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "StoredState")]
pub enum EntryState {
    /// 待上传: on the phone only.
    Pending,
    /// 已送达: the server stored it (the receipt proves it).
    Delivered { receipt: Receipt },
    /// 未通过: the server can never accept it; kept to show the reason and for export.
    Quarantined { receipt: Receipt },
}

/// An [`EntryState`] as stored, `{"state": "delivered", "receipt": {…}}` (what `#[serde(tag)]` writes),
/// read as a plain struct: serde's own reading of an internally tagged enum buffers every value first,
/// and that machinery alone cost the phone's first load 5.7 KiB brotli.
#[derive(Deserialize)]
struct StoredState {
    state: String,
    receipt: Option<Receipt>,
}

impl TryFrom<StoredState> for EntryState {
    type Error = String;

    fn try_from(stored: StoredState) -> Result<Self, String> {
        match (stored.state.as_str(), stored.receipt) {
            ("pending", _) => Ok(EntryState::Pending),
            ("delivered", Some(receipt)) => Ok(EntryState::Delivered { receipt }),
            ("quarantined", Some(receipt)) => Ok(EntryState::Quarantined { receipt }),
            ("delivered" | "quarantined", None) => Err("missing field `receipt`".to_owned()),
            (other, _) => Err(format!(
                "unknown variant `{other}`, expected one of `pending`, `delivered`, `quarantined`"
            )),
        }
    }
}

impl Entry {
    pub fn new(author: i64, mutation: Mutation) -> Entry {
        Entry {
            format: FORMAT,
            author,
            mutation,
            state: EntryState::Pending,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.state == EntryState::Pending
    }

    /// The change this entry carries (records of unknown kinds have none).
    pub fn change(&self) -> Option<Change> {
        self.mutation.change().ok()
    }

    pub(super) fn activity_id(&self) -> Option<String> {
        self.change()?.activity_id().map(str::to_owned)
    }
}

/// The oldest pending records first, at most `max` of them: what the next push sends.
pub fn next_batch(entries: &[Entry], max: usize) -> Vec<Mutation> {
    let mut pending: Vec<&Entry> = entries.iter().filter(|e| e.is_pending()).collect();
    pending.sort_by_key(|e| e.mutation.seq);
    pending
        .into_iter()
        .take(max)
        .map(|e| e.mutation.clone())
        .collect()
}

/// Applies the server's receipts; returns the entries whose state changed (to be written back).
///
/// A receipt for an id the outbox does not have is ignored: it cannot create or resurrect anything.
pub fn apply_receipts(entries: &mut [Entry], receipts: &[Receipt]) -> Vec<Entry> {
    let mut changed = Vec::new();
    for receipt in receipts {
        let Some(entry) = entries.iter_mut().find(|e| e.mutation.id == receipt.id) else {
            continue;
        };
        let state = match receipt.status {
            ReceiptStatus::Applied | ReceiptStatus::Duplicate => EntryState::Delivered {
                receipt: receipt.clone(),
            },
            ReceiptStatus::Quarantined => EntryState::Quarantined {
                receipt: receipt.clone(),
            },
        };
        if entry.state != state {
            entry.state = state;
            changed.push(entry.clone());
        }
    }
    changed
}

/// After a resync (the server's database was restored from a backup), every delivered record this phone
/// still holds goes back to waiting: the server may no longer have it, and sending it again stores it or is
/// answered as a duplicate. Answers the entries that changed (to be saved).
pub fn send_again(entries: &mut [Entry]) -> Vec<Entry> {
    let mut changed = Vec::new();
    for entry in entries {
        if matches!(entry.state, EntryState::Delivered { .. }) {
            entry.state = EntryState::Pending;
            changed.push(entry.clone());
        }
    }
    changed
}

/// Ids of delivered entries old enough to forget. Pending and quarantined entries are never forgotten.
pub fn expired_deliveries(entries: &[Entry], now: Millis) -> Vec<String> {
    entries
        .iter()
        .filter(|e| matches!(&e.state, EntryState::Delivered { receipt } if now - receipt.received_at > KEEP_DELIVERED_MS))
        .map(|e| e.mutation.id.clone())
        .collect()
}

/// The state of this phone's outbox, for the sync-health page and the warnings.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    pub pending: usize,
    /// Age of the oldest record still waiting, by the phone's clock.
    pub oldest_pending_ms: Option<Millis>,
    pub delivered: usize,
    pub quarantined: Vec<(Mutation, String)>,
}

impl Health {
    pub fn of(entries: &[Entry], now: Millis) -> Health {
        let pending = entries.iter().filter(|e| e.is_pending());
        Health {
            pending: pending.clone().count(),
            oldest_pending_ms: pending
                .map(|e| e.mutation.device_time)
                .min()
                .map(|t| (now - t).max(0)),
            delivered: entries
                .iter()
                .filter(|e| matches!(e.state, EntryState::Delivered { .. }))
                .count(),
            quarantined: entries
                .iter()
                .filter_map(|e| match &e.state {
                    EntryState::Quarantined { receipt } => Some((
                        e.mutation.clone(),
                        receipt.reason.clone().unwrap_or_default(),
                    )),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Records are at risk when the browser may evict storage (not persisted, or not known to be) and the
    /// oldest unsent record is older than the district's setting: iPhone clears a site's data after 7 days
    /// without use.
    pub fn at_risk(&self, persisted: Option<bool>, settings: &Settings) -> bool {
        persisted != Some(true)
            && self
                .oldest_pending_ms
                .is_some_and(|age| age >= settings.at_risk_after_ms)
    }
}

/// The records an export file carries: everything not yet delivered (pending and refused), oldest first.
pub fn unsent(entries: &[Entry]) -> Vec<Mutation> {
    let mut records: Vec<&Entry> = entries
        .iter()
        .filter(|e| !matches!(e.state, EntryState::Delivered { .. }))
        .collect();
    records.sort_by_key(|e| e.mutation.seq);
    records.into_iter().map(|e| e.mutation.clone()).collect()
}
