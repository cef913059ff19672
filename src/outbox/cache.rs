//! The phone's copy of what the server sent (pulls), kept for offline use.

use super::*;

/// The phone's copy of what the server sent, kept for offline use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cache {
    pub cursor: i64,
    pub activities: Vec<ActivityView>,
    pub attendance: Vec<AttendanceView>,
    /// server time − phone time, from the last answer the server gave.
    pub server_offset_ms: Millis,
    pub last_push: Option<Millis>,
    pub last_pull: Option<Millis>,
    #[serde(default)]
    pub settings: Settings,
    /// The user's own study records and those they review.
    #[serde(default)]
    pub study: Vec<StudyView>,
    #[serde(default)]
    pub study_rules: StudyRules,
    /// The user's own 投诉建议 (a district admin's: everyone's).
    #[serde(default)]
    pub feedback: Vec<FeedbackView>,
    /// The server's time of the last pull: every record made after it carries it (see
    /// [`Mutation::synced_at`]).
    #[serde(default)]
    pub synced_at: Millis,
    /// The server's history this copy came from (see [`PullResponse::history`]); 0 before the first pull.
    #[serde(default)]
    pub history: i64,
}

impl Cache {
    /// What this phone holds for working offline, in words for 同步状态: the activities and roster rows,
    /// study records and 投诉建议 it keeps, and where a role's other data lives.
    pub fn holdings(&self, role: Role) -> String {
        let mut held = format!(
            "活动 {} 项、应到名单 {} 行、学习记录 {} 条、投诉建议 {} 条",
            self.activities.len(),
            self.attendance.len(),
            self.study.len(),
            self.feedback.len()
        );
        held += &match role {
            Role::Member => "（本人参加的活动与本支部的活动）".to_owned(),
            Role::Lead => format!(
                "（本支部的活动、未归档与近{}天活动的应到名单、待审核的学习记录；更早活动的名单在打开时获取）",
                crate::life::RECENT_ROSTER_DAYS
            ),
            Role::Committee | Role::Admin => {
                "（本人的记录与待审核的事项；统计、登记表和各支部的活动联网时从服务器查看，本机不保存全区数据）"
                    .to_owned()
            }
        };
        held
    }

    /// What a committee or district admin's phone keeps: their own roster rows and those activities. An
    /// older app kept the whole district's; the server no longer updates it, so it is let go (the server's
    /// views have it). Unsent records are in the outbox, not here: nothing made on the phone is lost.
    pub fn hold_for(&mut self, role: Role, user_id: i64) {
        if !role.administers() {
            return;
        }
        self.attendance.retain(|r| r.member_id == user_id);
        let mine: std::collections::HashSet<&str> = self
            .attendance
            .iter()
            .map(|r| r.activity_id.as_str())
            .collect();
        self.activities.retain(|a| mine.contains(a.id.as_str()));
    }

    /// Lets go of every row the server sent, to pull everything again from a history the phone does not
    /// know yet (the server's database was restored from a backup).
    pub fn restart(&mut self) {
        self.cursor = 0;
        self.history = 0;
        self.activities.clear();
        self.attendance.clear();
        self.study.clear();
        self.feedback.clear();
    }

    /// Merges a pull: rows replace the ones with the same key; nothing is dropped. A resync (the server's
    /// history was rewound) first lets go of every row: what the server no longer has leaves the phone.
    pub fn merge(&mut self, pull: PullResponse) {
        if pull.resync {
            self.restart();
        }
        for a in pull.activities {
            match self.activities.iter_mut().find(|x| x.id == a.id) {
                Some(x) => *x = a,
                None => self.activities.push(a),
            }
        }
        for r in pull.attendance {
            self.put_attendance(r);
        }
        for r in pull.study {
            match self.study.iter_mut().find(|x| x.id == r.id) {
                Some(x) if x.server_seq <= r.server_seq => *x = r,
                Some(_) => {}
                None => self.study.push(r),
            }
        }
        for f in pull.feedback {
            match self.feedback.iter_mut().find(|x| x.id == f.id) {
                Some(x) if x.server_seq <= f.server_seq => *x = f,
                Some(_) => {}
                None => self.feedback.push(f),
            }
        }
        self.study_rules = pull.study_rules;
        self.activities
            .sort_by_key(|a| std::cmp::Reverse(a.starts_at));
        self.cursor = self.cursor.max(pull.cursor);
        self.history = pull.history;
        self.settings = pull.settings;
        self.synced_at = self.synced_at.max(pull.server_time);
        self.forget_ended_secrets(pull.server_time);
    }

    /// The key of an activity's code is needed only while members may sign in; after that it leaves the
    /// phone, so a lost phone holds no code of past meetings. Answers whether anything was forgotten.
    pub fn forget_ended_secrets(&mut self, now: Millis) -> bool {
        let mut forgot = false;
        for a in &mut self.activities {
            let over = now > a.ends_at + crate::model::SIGN_IN_CLOSES_AFTER_MS;
            if over && (a.secret.is_some() || a.code.is_some()) {
                a.secret = None;
                a.code = None;
                forgot = true;
            }
        }
        forgot
    }

    /// Replaces or adds one roster row (natural key: activity and member).
    pub fn put_attendance(&mut self, row: AttendanceView) {
        match self
            .attendance
            .iter_mut()
            .find(|x| x.activity_id == row.activity_id && x.member_id == row.member_id)
        {
            Some(x) if x.server_seq <= row.server_seq => *x = row,
            Some(_) => {}
            None => self.attendance.push(row),
        }
    }

    /// Forgets activities this phone published that the server refused: they exist nowhere but here, and
    /// the refused record (with its reason) stays in the outbox for 同步状态 and export.
    ///
    /// An edit, cancellation or closing the server refused was shown here already: the next pull starts
    /// from the beginning, so the server's version of every activity replaces this phone's.
    pub fn forget_refused(&mut self, changed: &[Entry]) -> bool {
        let before = (self.activities.len(), self.cursor);
        for entry in changed {
            if !matches!(entry.state, EntryState::Quarantined { .. }) {
                continue;
            }
            match entry.change() {
                Some(Change::CreateActivity(a)) => self
                    .activities
                    .retain(|x| x.id != a.activity_id || x.server_seq > 0),
                Some(
                    Change::EditActivity(_) | Change::CancelActivity(_) | Change::CloseRecord(_),
                ) => self.cursor = 0,
                _ => {}
            }
        }
        (self.activities.len(), self.cursor) != before
    }

    pub fn activity(&self, id: &str) -> Option<&ActivityView> {
        self.activities.iter().find(|a| a.id == id)
    }

    pub fn roster(&self, activity_id: &str) -> Vec<&AttendanceView> {
        let mut rows: Vec<_> = self
            .attendance
            .iter()
            .filter(|r| r.activity_id == activity_id)
            .collect();
        rows.sort_by_key(|r| r.member_id);
        rows
    }
}
