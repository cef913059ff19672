//! The wire contract between the phone and the server: paths, request and response bodies, the error shape.
//!
//! Written once and compiled into both sides, so a field cannot be renamed on one side only. The server also
//! derives the OpenAPI schema from these types (`/api/v1/openapi.json`).

use serde::{Deserialize, Serialize};

use crate::model::{ActivityKind, AttendanceStatus, Membership, Millis, Role};

/// Bumped when the push protocol changes incompatibly; the server answers older clients with 426.
pub const PROTOCOL: u32 = 1;
/// The oldest protocol the server still accepts.
pub const MIN_PROTOCOL: u32 = 1;
/// Most mutations one push may carry; the client sends longer queues in batches of this size.
pub const MAX_BATCH: usize = 200;
/// Most records one imported file may carry.
pub const MAX_IMPORT: usize = 2_000;

pub mod paths {
    pub const LOGIN: &str = "/api/v1/auth/login";
    pub const LOGOUT: &str = "/api/v1/auth/logout";
    pub const ME: &str = "/api/v1/me";
    pub const PUSH: &str = "/api/v1/sync/push";
    pub const PULL: &str = "/api/v1/sync/pull";
    pub const IMPORT: &str = "/api/v1/sync/import";
    pub const OPENAPI: &str = "/api/v1/openapi.json";
}

/// Every error answer has this body; `message` is Chinese and says what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    pub expires_at: Millis,
    pub user: Me,
}

/// The signed-in person, as the app needs to know them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub org_id: i64,
    pub org_name: String,
}

/// What a mutation does. Unknown kinds (from a newer app) are quarantined one by one, never the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationKind {
    CreateActivity,
    SignIn,
    Confirm,
    #[serde(other)]
    Unknown,
}

impl MutationKind {
    /// The name stored in the database, the same as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MutationKind::CreateActivity => "create_activity",
            MutationKind::SignIn => "sign_in",
            MutationKind::Confirm => "confirm",
            MutationKind::Unknown => "unknown",
        }
    }

    /// What the member calls such a record.
    pub fn label(self) -> &'static str {
        match self {
            MutationKind::CreateActivity => "发布活动",
            MutationKind::SignIn => "签到",
            MutationKind::Confirm => "确认出席",
            MutationKind::Unknown => "其他记录",
        }
    }
}

/// One record made on a phone, as it travels in a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Mutation {
    /// 1, 2, 3 … per device and user.
    pub seq: u64,
    /// UUIDv7 made on the phone when the record was created; the server keeps each id once.
    pub id: String,
    pub kind: MutationKind,
    /// The body for `kind` ([`NewActivity`], [`SignIn`] or [`Confirm`]); checked per mutation so one
    /// bad record is quarantined instead of failing the batch.
    #[cfg_attr(feature = "server", schema(value_type = Object))]
    pub payload: Payload,
    /// The phone's clock when the record was made.
    pub device_time: Millis,
    /// server time − phone time, as last measured by the phone (0 if never).
    pub server_offset_ms: Millis,
}

/// A mutation's body as the JSON text it arrived in. Kept raw (not a `serde_json::Value`) so that it is
/// read once, into the type its kind names, and stored as sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<serde_json::value::RawValue>);

impl Payload {
    /// Any serialisable body (tests use this to send malformed ones).
    pub fn of<T: Serialize>(body: &T) -> Payload {
        // Serialising our own body types cannot fail; `null` would be quarantined, not lost.
        Payload(serde_json::value::to_raw_value(body).unwrap_or_default())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.get() == other.get()
    }
}

/// A mutation's body, typed.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    CreateActivity(NewActivity),
    SignIn(SignIn),
    Confirm(Confirm),
}

impl Mutation {
    pub fn new(
        seq: u64,
        id: String,
        change: &Change,
        device_time: Millis,
        server_offset_ms: Millis,
    ) -> Mutation {
        let (kind, payload) = match change {
            Change::CreateActivity(a) => (MutationKind::CreateActivity, Payload::of(a)),
            Change::SignIn(s) => (MutationKind::SignIn, Payload::of(s)),
            Change::Confirm(c) => (MutationKind::Confirm, Payload::of(c)),
        };
        Mutation {
            seq,
            id,
            kind,
            payload,
            device_time,
            server_offset_ms,
        }
    }

    /// Reads the payload as the body its kind names.
    pub fn change(&self) -> Result<Change, String> {
        let bad = |e: serde_json::Error| format!("记录内容无效：{e}");
        match self.kind {
            MutationKind::CreateActivity => serde_json::from_str(self.payload.get())
                .map(Change::CreateActivity)
                .map_err(bad),
            MutationKind::SignIn => serde_json::from_str(self.payload.get())
                .map(Change::SignIn)
                .map_err(bad),
            MutationKind::Confirm => serde_json::from_str(self.payload.get())
                .map(Change::Confirm)
                .map_err(bad),
            MutationKind::Unknown => Err("此版本的服务器不认识这种记录，请联系管理员".to_owned()),
        }
    }
}

/// A lead publishes an activity (also offline: the phone makes the id and the 签到码).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    pub activity_id: String,
    pub kind: ActivityKind,
    pub title: String,
    pub place: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub code: String,
}

/// A member signs in to an activity with the code the lead shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub activity_id: String,
    pub code: String,
}

/// The lead confirms a member's attendance: their sign-in (已签到（待确认） → 已确认), or a member seen at
/// the meeting whose record has not arrived (no signal, or no phone). Made offline too, like any record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub activity_id: String,
    pub member_id: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// Random id the phone made once; one sequence of `seq` per device and user.
    pub device_id: String,
    /// The client's [`PROTOCOL`]; older than [`MIN_PROTOCOL`] gets 426 and "please update".
    pub protocol: u32,
    pub mutations: Vec<Mutation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Stored now.
    Applied,
    /// Stored earlier; this was a retry.
    Duplicate,
    /// Can never be accepted (see `reason`); acknowledged so it never blocks the queue.
    Quarantined,
}

/// The server's acknowledgement of one mutation. The phone keeps it as proof of delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub id: String,
    pub status: ReceiptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub server_seq: i64,
    pub received_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// One per mutation sent, in the same order.
    pub receipts: Vec<Receipt>,
    pub server_time: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Pass this as `cursor` next time.
    pub cursor: i64,
    /// More changes wait beyond this page: pull again with the new cursor.
    #[serde(default)]
    pub more: bool,
    pub server_time: Millis,
    pub activities: Vec<ActivityView>,
    pub attendance: Vec<AttendanceView>,
    pub settings: Settings,
}

/// Settings the district chose that the phone needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Settings {
    /// Warn that records are at risk when storage is not persisted and the oldest unsent record is this old.
    pub at_risk_after_ms: Millis,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            at_risk_after_ms: 2 * 24 * 3_600_000,
        }
    }
}

/// What 导出未上传记录 writes to a file: the records still waiting on a phone (and those the server
/// refused, as evidence). The member on a new phone, their lead or an admin imports it with
/// `POST` [`paths::IMPORT`]; each record still arrives at most once, because the server keeps ids once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UnsentFile {
    /// Always [`UnsentFile::APP`], so a wrong file is recognised as such.
    pub app: String,
    pub format: u32,
    pub exported_at: Millis,
    pub device_id: String,
    /// The author of every record in the file.
    pub user_id: i64,
    pub user_name: String,
    pub records: Vec<Mutation>,
}

impl UnsentFile {
    pub const APP: &'static str = "hongyan-unsent";
    pub const FORMAT: u32 = 1;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ActivityView {
    pub id: String,
    pub org_id: i64,
    pub org_name: String,
    pub kind: ActivityKind,
    pub title: String,
    pub place: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
    /// Only the activity's own lead receives the 签到码.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub server_seq: i64,
}

/// One member's row on one activity's roster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AttendanceView {
    pub activity_id: String,
    pub member_id: i64,
    pub member_name: String,
    pub membership: Membership,
    pub status: AttendanceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Millis>,
    /// Set when the phone's clock was more than five minutes off the server's.
    #[serde(default)]
    pub clock_skewed: bool,
    pub server_seq: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutation_carries_its_change_and_gets_it_back() {
        let change = Change::SignIn(SignIn {
            activity_id: "a".into(),
            code: "123456".into(),
        });
        let m = Mutation::new(3, "id".into(), &change, 10, -2);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""kind":"sign_in""#), "{json}");
        let back: Mutation = serde_json::from_str(&json).unwrap();
        assert_eq!(back.change(), Ok(change));
    }

    #[test]
    fn an_unknown_kind_or_a_broken_payload_is_an_error_of_that_mutation_only() {
        let json = r#"{"seq":1,"id":"x","kind":"teleport","payload":{},"device_time":0,"server_offset_ms":0}"#;
        let m: Mutation = serde_json::from_str(json).unwrap();
        assert_eq!(m.kind, MutationKind::Unknown);
        assert!(m.change().is_err());
        let json = r#"{"seq":1,"id":"x","kind":"sign_in","payload":{"activity_id":5},"device_time":0,"server_offset_ms":0}"#;
        let m: Mutation = serde_json::from_str(json).unwrap();
        assert!(m.change().unwrap_err().starts_with("记录内容无效"));
    }
}
