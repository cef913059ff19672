//! Organisational life on the wire: publishing and managing activities, signing in, requests and decisions,
//! and the views of activities and attendance the server sends back.

use super::*;

/// A lead publishes an activity (also offline: the phone makes the id and the secret of the rotating code).
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
    #[serde(default)]
    pub mode: ActivityMode,
    /// The key of the rotating 签到码 (32 hex digits), see [`crate::life::code_at`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// How long each code is shown.
    #[serde(default = "default_code_step")]
    pub code_step_ms: Millis,
    /// A fixed six-digit code, as version 1 of the app made them (still accepted from old phones).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// Members who agreed to it may sign in by location inside this circle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<Fence>,
    /// 学时 a confirmed attendance earns (党课, 书记讲坛 …); none when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub study_hours: Hours,
    /// A 党小组会's group: only its members are on the roster. Set when published; an edit keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
}

fn is_zero(h: &Hours) -> bool {
    *h == Hours::ZERO
}

fn default_code_step() -> Millis {
    crate::life::DEFAULT_CODE_STEP_MS
}

impl Default for NewActivity {
    fn default() -> NewActivity {
        NewActivity {
            activity_id: String::new(),
            kind: ActivityKind::Other,
            title: String::new(),
            place: String::new(),
            starts_at: 0,
            ends_at: 0,
            mode: ActivityMode::Offline,
            secret: String::new(),
            code_step_ms: default_code_step(),
            code: String::new(),
            fence: None,
            study_hours: Hours::ZERO,
            group_id: None,
        }
    }
}

/// The lead cancels an activity, saying why; members see the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    pub activity_id: String,
    pub reason: String,
}

/// The lead closes the meeting record; counts and names come from the roster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CloseRecord {
    pub activity_id: String,
    /// 主持人
    pub host: String,
    /// 记录人
    pub recorder: String,
    /// Participants who joined online from elsewhere (guests without an account, for example).
    #[serde(default)]
    pub online_note: String,
}

/// A member's 请假 (before the start), 补签 (within the window after the end) or 补学.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub activity_id: String,
    pub kind: RequestKind,
    /// Only for leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<LeaveCategory>,
    pub reason: String,
}

/// The lead's decision on one member's row (see [`crate::life::decide`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub activity_id: String,
    pub member_id: i64,
    pub decision: Decision,
    #[serde(default)]
    pub reason: String,
}

/// A member signs in to an activity with the code the lead shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub activity_id: String,
    /// Empty for a location sign-in.
    pub code: String,
    /// A location sign-in: the outcome of the phone's one fix against the activity's fence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationCheck>,
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

/// The lead adds someone to a frozen roster before the record is closed (audited): a member of the branch
/// who joined after publication, or a mobile member from elsewhere invited as a guest. By phone number, so
/// the lead's phone needs no member list and works offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddToRoster {
    pub activity_id: String,
    pub phone: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
    pub mode: ActivityMode,
    #[serde(default)]
    pub state: ActivityState,
    /// Why it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// The closed record's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<CloseRecord>,
    /// Only the activity's own lead receives the secret of the rotating 签到码 …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default = "default_code_step")]
    pub code_step_ms: Millis,
    /// … or the fixed code of an activity published by version 1 of the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Where a location sign-in counts (the venue is no one's personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<Fence>,
    /// 学时 a confirmed attendance earns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub study_hours: Hours,
    /// A 党小组会's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub server_seq: i64,
}

impl ActivityView {
    /// Its type as shown in lists: `党小组会 · 钢筋班组党小组` for one group's meeting.
    pub fn kind_label(&self) -> String {
        match &self.group_name {
            Some(group) => format!("{} · {group}", self.kind.label()),
            None => self.kind.label().to_owned(),
        }
    }
}

/// One member's row on one activity's roster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
    /// The sign-in is not proven by its code (a wrong code, a location statement, a time before the
    /// phone's last sync, too many attempts): kept 待确认 for the lead to judge, out of 一键确认全部.
    #[serde(default)]
    pub code_unverified: bool,
    /// Wrong codes the member typed for this activity (after [`crate::life::MAX_CODE_ATTEMPTS`] the
    /// code is no longer checked).
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub wrong_codes: u32,
    /// The member's record claims a time before their phone's last sync (the clock was set back).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub time_doubtful: bool,
    /// A lead marked themselves present (their own statement, for another lead to confirm).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_marked: bool,
    /// The member's record came unsigned in a file someone else imported (they could have written it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub carried: bool,
    /// Leave asked "before the start" that reached the server only after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late_request: bool,
    /// When the server received the member's latest sign-in or request about this row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<Millis>,
    /// Attending as a guest of this branch (home branch elsewhere): no vote here.
    #[serde(default)]
    pub guest: bool,
    /// The member's reason for leave or make-up, or the lead's 缺席原因 / reason for a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<LeaveCategory>,
    /// The lead's reason for refusing a request or a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_note: Option<String>,
    /// What the member recorded as 补学.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
    /// A location sign-in's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationCheck>,
    pub server_seq: i64,
}

fn is_zero_count(n: &u32) -> bool {
    *n == 0
}

impl AttendanceView {
    /// A sign-in its code proves: 一键确认全部 confirms these, and only these.
    pub fn verified_sign_in(&self) -> bool {
        self.status == AttendanceStatus::SignedIn && !self.code_unverified && !self.time_doubtful
    }

    /// A kept sign-in whose typed code was wrong (not one no code could prove: by location, carried by
    /// someone else, or past the hour's checks).
    pub fn code_was_wrong(&self) -> bool {
        self.status == AttendanceStatus::SignedIn
            && self.code_unverified
            && self.wrong_codes > 0
            && self.location.is_none()
            && !self.carried
    }

    /// Whether the member may type the code again to prove a kept sign-in (not after too many wrong
    /// codes, nor when the phone's clock was set back).
    pub fn may_retry_code(&self) -> bool {
        self.status == AttendanceStatus::SignedIn
            && self.code_unverified
            && self.wrong_codes < crate::life::MAX_CODE_ATTEMPTS
            && !self.time_doubtful
    }

    /// What the lead should know before confirming by hand (and the register keeps), one note each.
    pub fn proof_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(l) = self.location {
            notes.push(format!(
                "位置自报：{}，距离{}米（精度{}米），未经签到码验证",
                if l.inside { "范围内" } else { "范围外" },
                l.distance_m,
                l.accuracy_m
            ));
        }
        if self.self_marked {
            notes.push("本人标记出席，未经他人确认".to_owned());
        }
        if self.wrong_codes >= crate::life::MAX_CODE_ATTEMPTS {
            notes.push(format!("签到码输错{}次，已停止校验", self.wrong_codes));
        } else if self.code_unverified
            && self.location.is_none()
            && !self.time_doubtful
            && !self.self_marked
            && !self.carried
        {
            notes.push("签到未通过校验".to_owned());
        }
        if self.time_doubtful {
            notes.push("时间早于该手机上次同步，手机时间可能被调整过".to_owned());
        }
        if self.carried {
            notes.push("由他人代为导入，未经本人签名".to_owned());
        }
        if self.late_request {
            notes.push("请假在活动开始后才送达服务器".to_owned());
        }
        notes
    }

    /// `上传于 2026-03-08 20:05，晚于签到 5.5 小时` when the member's record arrived an hour or more after
    /// the time it claims.
    pub fn lateness(&self) -> Option<String> {
        let received = self.received_at?;
        let signed = self.signed_at?;
        let late = received - signed;
        if late < 3_600_000 {
            return None;
        }
        let tenths = late / 360_000;
        let hours = match tenths % 10 {
            0 => format!("{}", tenths / 10),
            tenth => format!("{}.{tenth}", tenths / 10),
        };
        Some(format!(
            "上传于 {}，晚于签到 {hours} 小时",
            crate::model::LocalTime::from_millis(received).table()
        ))
    }

    /// The row as the meeting record counts it (quorum).
    pub fn counted(&self) -> crate::life::Counted {
        crate::life::Counted {
            status: self.status,
            membership: self.membership,
            guest: self.guest,
        }
    }
}

/// The lead's quiet list: their members without any participation (home or host branch) since `since`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Participation {
    pub since: Millis,
    pub members: Vec<QuietMember>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct QuietMember {
    pub member_id: i64,
    pub name: String,
    /// The last activity they took part in anywhere, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_org: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_meeting_is_listed_with_its_group_and_older_apps_read_it() {
        let mut a = ActivityView {
            kind: ActivityKind::GroupMeeting,
            ..ActivityView::default()
        };
        assert_eq!(a.kind_label(), "党小组会");
        a.group_name = Some("钢筋班组党小组".into());
        assert_eq!(a.kind_label(), "党小组会 · 钢筋班组党小组");
        // A phone from before 党小组 sends no group; one from after sends it only when there is one.
        let old: NewActivity = serde_json::from_str(
            r#"{"activity_id":"x","kind":"theme_day","title":"t","place":"p","starts_at":1,"ends_at":2}"#,
        )
        .unwrap();
        assert_eq!(old.group_id, None);
        assert!(!serde_json::to_string(&old).unwrap().contains("group_id"));
    }

    #[test]
    fn only_a_typed_code_that_was_wrong_is_told_as_wrong() {
        let wrong = AttendanceView {
            status: AttendanceStatus::SignedIn,
            code_unverified: true,
            wrong_codes: 1,
            ..AttendanceView::default()
        };
        assert!(wrong.code_was_wrong());
        // Unchecked but not wrong: past the hour's checks, by location, carried, or proven on retry.
        let unchecked = AttendanceView {
            wrong_codes: 0,
            ..wrong.clone()
        };
        assert!(!unchecked.code_was_wrong());
        let located = AttendanceView {
            location: Some(LocationCheck {
                inside: true,
                distance_m: 20,
                accuracy_m: 10,
            }),
            ..wrong.clone()
        };
        assert!(!located.code_was_wrong());
        let carried = AttendanceView {
            carried: true,
            ..wrong.clone()
        };
        assert!(!carried.code_was_wrong());
        let proven = AttendanceView {
            code_unverified: false,
            ..wrong.clone()
        };
        assert!(!proven.code_was_wrong());
    }
}
