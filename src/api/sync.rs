//! Records made on phones and how they travel: the kinds of record (one table), push, pull, settings,
//! files of unsent records, and the phone's signing key.

use super::*;

/// Every kind of record a phone makes, one row each: the kind, its name on the wire and in the database,
/// the body it carries, what the member calls it, the largest payload it may have in bytes of JSON (far
/// above what the phone writes — every text field has its own limit in characters — so only a crafted
/// record meets it), and the server's applier (in `server/`, run by `server::sync` inside a savepoint).
///
/// From the rows come [`MutationKind`] (with its wire name, label and limit), [`Change`], and the
/// conversions between a [`Mutation`]'s kind and payload and a typed change. Adding a kind is a row here,
/// its applier, and its overlay in `outbox` (what the phone shows before the server answers).
macro_rules! mutation_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident = $wire:literal, $body:ty, $label:literal, $max:literal, $applier:path;
    )*) => {
        /// What a mutation does. Unknown kinds (from a newer app) are quarantined one by one, never the batch.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        pub enum MutationKind {
            $( #[serde(rename = $wire)] $kind, )*
            #[serde(other, rename = "unknown")]
            Unknown,
        }

        impl MutationKind {
            /// The name stored in the database, the same as on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( MutationKind::$kind => $wire, )*
                    MutationKind::Unknown => "unknown",
                }
            }

            /// The largest payload a record of this kind may have, in bytes of JSON.
            pub fn max_payload_bytes(self) -> usize {
                match self {
                    $( MutationKind::$kind => $max, )*
                    MutationKind::Unknown => 1_024,
                }
            }

            /// What the member calls such a record.
            pub fn label(self) -> &'static str {
                match self {
                    $( MutationKind::$kind => $label, )*
                    MutationKind::Unknown => "其他记录",
                }
            }
        }

        /// A mutation's body, typed.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Change {
            $( $(#[$doc])* $kind($body), )*
        }

        impl Change {
            /// The kind of record this change travels as.
            pub fn kind(&self) -> MutationKind {
                match self {
                    $( Change::$kind(_) => MutationKind::$kind, )*
                }
            }

            /// The body as the JSON a record carries.
            fn payload(&self) -> Payload {
                match self {
                    $( Change::$kind(body) => Payload::of(body), )*
                }
            }

            /// Reads a record's payload as the body its kind names.
            fn read(kind: MutationKind, json: &str) -> Result<Change, String> {
                match kind {
                    $( MutationKind::$kind => serde_json::from_str(json).map(Change::$kind), )*
                    MutationKind::Unknown => {
                        return Err("此版本的服务器不认识这种记录，请联系管理员".to_owned());
                    }
                }
                .map_err(|e| format!("记录内容无效：{e}"))
            }

            /// Applies the change on the server: its applier's checks, then its writes.
            #[cfg(feature = "server")]
            pub(crate) async fn apply(
                self,
                conn: &mut dyn crate::server::Conn,
                ap: &crate::server::applying::Applying<'_>,
            ) -> crate::server::applying::Outcome {
                #[allow(unused_imports)]
                use crate::server::life::{activities, attendance};
                use crate::server::{rights, study};
                match self {
                    $( Change::$kind(body) => $applier(conn, &body, ap).await, )*
                }
            }
        }
    };
}

mutation_kinds! {
    CreateActivity = "create_activity", NewActivity, "发布活动", 4_096, activities::create;
    /// The same fields as publishing; the secret and code stay as published.
    EditActivity = "edit_activity", NewActivity, "修改活动", 4_096, activities::edit;
    CancelActivity = "cancel_activity", Cancel, "取消活动", 4_096, activities::cancel;
    CloseRecord = "close_record", CloseRecord, "归档会议记录", 4_096, activities::close;
    SignIn = "sign_in", SignIn, "签到", 1_024, attendance::sign_in;
    Request = "request", Request, "申请", 4_096, attendance::request;
    Confirm = "confirm", Confirm, "确认出席", 512, attendance::confirm;
    Decide = "decide", Decide, "审批", 4_096, attendance::decide;
    AddToRoster = "add_to_roster", AddToRoster, "加入应到名单", 512, attendance::add_to_roster;
    SaveStudy = "save_study", StudyEntry, "学习记录", 8_192, study::save;
    WithdrawStudy = "withdraw_study", WithdrawStudy, "撤回学习记录", 512, study::withdraw;
    ReviewStudy = "review_study", ReviewStudy, "认定学时", 4_096, study::review;
    Feedback = "feedback", FeedbackEntry, "投诉建议", 16_384, rights::feedback;
    ReplyFeedback = "reply_feedback", ReplyFeedback, "答复投诉建议", 16_384, rights::reply;
    Consent = "consent", Consent, "授权记录", 512, rights::consent;
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
    /// The server's time of this phone's last successful sync when the record was made (0: none yet). A
    /// record claiming an earlier time was made with the clock set back, and is flagged for the lead.
    #[serde(default, skip_serializing_if = "is_zero_ms")]
    pub synced_at: Millis,
    /// The author's signature over [`Mutation::signed_text`], made on the phone with a key that never
    /// leaves it (ECDSA P-256 with SHA-256, `r‖s` in hex). Whoever carries a signed record — a push, a
    /// file imported by someone else — cannot alter it unnoticed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sig: String,
}

fn is_zero_ms(ms: &Millis) -> bool {
    *ms == 0
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

impl Change {
    /// The activity the change is about (study records are about none).
    pub fn activity_id(&self) -> Option<&str> {
        match self {
            Change::CreateActivity(a) | Change::EditActivity(a) => Some(&a.activity_id),
            Change::CancelActivity(c) => Some(&c.activity_id),
            Change::CloseRecord(c) => Some(&c.activity_id),
            Change::SignIn(s) => Some(&s.activity_id),
            Change::Request(r) => Some(&r.activity_id),
            Change::Confirm(c) => Some(&c.activity_id),
            Change::Decide(d) => Some(&d.activity_id),
            Change::AddToRoster(a) => Some(&a.activity_id),
            _ => None,
        }
    }

    /// The study record the change is about.
    pub fn study_id(&self) -> Option<&str> {
        match self {
            Change::SaveStudy(s) => Some(&s.study_id),
            Change::WithdrawStudy(w) => Some(&w.study_id),
            Change::ReviewStudy(r) => Some(&r.study_id),
            _ => None,
        }
    }
}

impl Mutation {
    pub fn new(
        seq: u64,
        id: String,
        change: &Change,
        device_time: Millis,
        server_offset_ms: Millis,
    ) -> Mutation {
        Mutation {
            seq,
            id,
            kind: change.kind(),
            payload: change.payload(),
            device_time,
            server_offset_ms,
            synced_at: 0,
            sig: String::new(),
        }
    }

    /// What the author signs: every field of the record, who made it and on which phone, one per line, the
    /// payload exactly as sent (the phone writes it once; files and pasted text carry it unchanged).
    pub fn signed_text(&self, author: i64, device_id: &str) -> String {
        format!(
            "hongyan-record-v1\n{author}\n{device_id}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.id,
            self.seq,
            self.kind.as_str(),
            self.device_time,
            self.server_offset_ms,
            self.synced_at,
            self.payload.get()
        )
    }

    /// Reads the payload as the body its kind names.
    pub fn change(&self) -> Result<Change, String> {
        Change::read(self.kind, self.payload.get())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// Random id the phone made once; one sequence of `seq` per device and user.
    pub device_id: String,
    /// The client's [`PROTOCOL`]; older than [`MIN_PROTOCOL`] gets 426 and "please update".
    pub protocol: u32,
    pub mutations: Vec<Mutation>,
    /// The `history` of the phone's last pull (0 or absent: none yet): another one than the server's is
    /// answered 409 `history_changed`, and the phone resyncs before it sends.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub history: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Pass this as `cursor` next time.
    pub cursor: i64,
    /// More changes wait beyond this page: pull again with the new cursor.
    #[serde(default)]
    pub more: bool,
    /// The phone's copy came from a history the server no longer has (its database was restored from a
    /// backup): this pull starts again from nothing. The phone replaces its copy with it and sends again
    /// every record it holds as delivered, so nothing the lost history acknowledged stays lost.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resync: bool,
    /// Which history the server's database holds (a restore makes a new one): sent back with the next pull.
    #[serde(default)]
    pub history: i64,
    pub server_time: Millis,
    pub activities: Vec<ActivityView>,
    pub attendance: Vec<AttendanceView>,
    /// The user's own study records and, for a reviewer, those in their scope (drafts stay private).
    #[serde(default)]
    pub study: Vec<StudyView>,
    /// The member's own 投诉建议 and, for district admins, everyone's.
    #[serde(default)]
    pub feedback: Vec<FeedbackView>,
    pub settings: Settings,
    #[serde(default)]
    pub study_rules: StudyRules,
}

/// Settings the district chose that the phone needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Settings {
    /// Warn that records are at risk when storage is not persisted and the oldest unsent record is this old.
    pub at_risk_after_ms: Millis,
    /// How long each rotating 签到码 is shown.
    pub code_step_ms: Millis,
    /// How long after an activity's end a 补签 may be asked.
    pub makeup_window_ms: Millis,
    /// How far back an activity may be recorded.
    pub backdate_limit_ms: Millis,
    /// A member without any participation for this long is on their lead's quiet list.
    pub inactive_after_ms: Millis,
}

/// One setting as people set it: in days or seconds, within a range.
pub struct SettingField {
    /// How the 设置 page names it, and what it adds in a smaller line (may be empty).
    pub label: &'static str,
    pub note: &'static str,
    /// The server option that gives a new database its first value.
    pub flag: &'static str,
    /// 天 or 秒, and how many milliseconds that is.
    pub unit: &'static str,
    pub unit_ms: Millis,
    pub min: i64,
    pub max: i64,
    pub get: fn(&Settings) -> Millis,
    pub set: fn(&mut Settings, Millis),
}

impl SettingField {
    /// A whole number typed in the field's unit, in milliseconds, or what is wrong with it.
    pub fn parse(&self, typed: &str) -> Result<Millis, String> {
        typed
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| (self.min..=self.max).contains(v))
            .map(|v| v * self.unit_ms)
            .ok_or_else(|| self.range())
    }

    /// The value of `settings` in the field's unit, as typed.
    pub fn show(&self, settings: &Settings) -> String {
        ((self.get)(settings) / self.unit_ms).to_string()
    }

    /// What the field takes, in words.
    pub fn range(&self) -> String {
        format!("{}：请填写{}至{}之间的整数", self.label, self.min, self.max)
    }
}

const DAY_MS: Millis = 24 * 3_600_000;

impl Settings {
    /// Every setting, in the order the 设置 page shows them.
    pub const FIELDS: [SettingField; 5] = [
        SettingField {
            label: "签到码每隔多少秒更换",
            note: "间隔越短越难代签；只影响此后发布的活动。",
            flag: "code-step-secs",
            unit: "秒",
            unit_ms: 1_000,
            min: 10,
            max: 600,
            get: |s| s.code_step_ms,
            set: |s, v| s.code_step_ms = v,
        },
        SettingField {
            label: "活动结束后几天内可申请补签",
            note: "填0则不能补签，只能登记补学。",
            flag: "makeup-days",
            unit: "天",
            unit_ms: DAY_MS,
            min: 0,
            max: 60,
            get: |s| s.makeup_window_ms,
            set: |s, v| s.makeup_window_ms = v,
        },
        SettingField {
            label: "书记可登记多少天以前开展的活动",
            note: "",
            flag: "backdate-days",
            unit: "天",
            unit_ms: DAY_MS,
            min: 1,
            max: 366,
            get: |s| s.backdate_limit_ms,
            set: |s, v| s.backdate_limit_ms = v,
        },
        SettingField {
            label: "连续多少天未参加组织生活，列入“近期未参加组织生活的党员”",
            note: "",
            flag: "inactive-days",
            unit: "天",
            unit_ms: DAY_MS,
            min: 1,
            max: 3_660,
            get: |s| s.inactive_after_ms,
            set: |s, v| s.inactive_after_ms = v,
        },
        SettingField {
            label: "记录在手机上多少天未上传，提醒本人",
            note: "iPhone可能清除7天未打开的网站数据，建议不超过5天。",
            flag: "at-risk-days",
            unit: "天",
            unit_ms: DAY_MS,
            min: 1,
            max: 365,
            get: |s| s.at_risk_after_ms,
            set: |s, v| s.at_risk_after_ms = v,
        },
    ];

    /// Whether every setting is a whole number of its unit, within its range.
    pub fn check(&self) -> Result<(), String> {
        for f in &Settings::FIELDS {
            let v = (f.get)(self);
            if v % f.unit_ms != 0 || v < f.min * f.unit_ms || v > f.max * f.unit_ms {
                return Err(f.range());
            }
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            at_risk_after_ms: 2 * DAY_MS,
            code_step_ms: crate::life::DEFAULT_CODE_STEP_MS,
            makeup_window_ms: 3 * DAY_MS,
            backdate_limit_ms: crate::model::DEFAULT_BACKDATE_LIMIT_MS,
            inactive_after_ms: 90 * DAY_MS,
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

/// The public half of a phone's signing key for one person: made in the browser (WebCrypto, the private
/// half not extractable), registered when they log in on that phone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceKey {
    pub device_id: String,
    /// The uncompressed P-256 point (65 bytes) in hex.
    pub public_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_text_names_author_phone_and_every_field_and_the_payload_as_sent() {
        let mut a = Mutation::new(3, "id".into(), &Change::Consent(Consent::default()), 10, -2);
        let written = a.signed_text(7, "phone");
        assert_eq!(
            written,
            "hongyan-record-v1\n7\nphone\nid\n3\nconsent\n10\n-2\n0\n{\"kind\":\"privacy\",\"granted\":false,\"version\":\"\"}"
        );
        assert_ne!(a.signed_text(8, "phone"), written, "the author is signed");
        assert_ne!(a.signed_text(7, "other"), written, "so is the phone");
        a.synced_at = 5;
        assert_ne!(
            a.signed_text(7, "phone"),
            written,
            "and the last sync it claims"
        );
    }

    #[test]
    fn a_mutation_carries_its_change_and_gets_it_back() {
        let change = Change::SignIn(SignIn {
            activity_id: "a".into(),
            code: "123456".into(),
            ..Default::default()
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
