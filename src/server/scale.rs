//! A district-sized database for measuring reads (`hongyan seed-scale`, `make bench-scale`).
//!
//! The district is built the way a real one fills up, through the server's own code: organisations by
//! [`tree::add`], people by the roster import ([`roster::run`]), and every activity and attendance record
//! as a phone's record applied by [`sync::apply`] at the time it would have arrived: the lead publishes a
//! meeting three days ahead, members sign in with the code during it, the lead confirms each sign-in and
//! records each absence with its reason, then closes the record. Month by month, so server sequence
//! follows time as it does in life. Only the sample accounts' passwords are set directly (an invitation
//! needs a phone to open it).
//!
//! Durability is relaxed while seeding (`synchronous = OFF`): the fixture is rebuilt, not recovered.

use super::auth::{Person, hash_password};
use super::db::{Db, Sequence, now_ms};
use super::org::{roster, tree};
use super::sync;
use crate::api::Change;
use crate::api::{
    CloseRecord, Confirm, Decide, Mutation, NewActivity, OrgEntry, ReceiptStatus, Settings, SignIn,
};
use crate::life::{ActivityMode, Decision, code_at, secret_hex};
use crate::model::{ActivityKind, Millis, Role, uuid_v7};
use crate::org::OrgForm;
use crate::server::db::{self, Conn};
use crate::study::Hours;

type Failure = Box<dyn std::error::Error>;

/// The password of the sample accounts the benchmark logs in as.
pub const PASSWORD: &str = "hongyan-scale";

/// The district's shape.
#[derive(Clone, Debug)]
pub struct Shape {
    pub members: usize,
    pub committees: usize,
    pub branches: usize,
    /// Months of history, ending with the current one.
    pub months: u32,
    pub meetings_per_month: u32,
    /// Of those, the last months with every sign-in, confirmation and absence recorded and the record
    /// closed (about ninety records a meeting); before them, meetings are published only, as by a lead
    /// who kept the register on paper.
    pub detailed_months: u32,
}

impl Default for Shape {
    /// The district the scale issue measured: 100,000 members in 2,000 branches under 20 committees,
    /// three meetings a month for three years.
    fn default() -> Shape {
        Shape {
            members: 100_000,
            committees: 20,
            branches: 2_000,
            months: 36,
            meetings_per_month: 3,
            detailed_months: 2,
        }
    }
}

/// Who the benchmark logs in as (phone numbers; password [`PASSWORD`]).
#[derive(Debug)]
pub struct Samples {
    pub member: String,
    pub lead: String,
    pub committee: String,
    pub admin: String,
}

/// What was built.
#[derive(Debug)]
pub struct Built {
    pub samples: Samples,
    pub activities: u64,
    pub records: u64,
}

const DAY: Millis = 86_400_000;
const HOUR: Millis = 3_600_000;
/// Of every 100 people on a roster, this many sign in; the rest are recorded absent with a reason.
const SIGN_IN_PERCENT: u64 = 85;
const KINDS: [ActivityKind; 3] = [
    ActivityKind::GeneralMeeting,
    ActivityKind::PartyLecture,
    ActivityKind::ThemeDay,
];
const SURNAMES: [char; 20] = [
    '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭',
    '何', '林', '高', '罗',
];
const GIVEN: [&str; 20] = [
    "建国", "伟", "芳", "敏", "静", "磊", "洋", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英",
    "华", "平", "刚", "丽", "强",
];

fn name_of(i: usize) -> String {
    format!(
        "{}{}{}",
        SURNAMES[i % 20],
        GIVEN[(i / 20) % 20],
        ["", "东", "南", "西", "北"][(i / 400) % 5]
    )
}

/// A number from 0 to 99 that is the same every run for the same inputs.
fn dice(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (x ^ (x >> 32)) % 100
}

/// Builds the district into an empty database at `path`.
pub async fn seed(
    path: &std::path::Path,
    shape: &Shape,
    progress: impl Fn(String),
) -> Result<Built, Failure> {
    if shape.members < shape.branches || shape.branches < shape.committees || shape.committees == 0
    {
        return Err("需要：成员数 ≥ 支部数 ≥ 党委数 ≥ 1".into());
    }
    let db = Db::open(path).await?;
    let users: i64 = db::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db.reader)
        .await?;
    if users > 0 {
        return Err(format!("{} 不是空数据库", path.display()).into());
    }
    let mut w = db.writer.acquire().await?;
    db::query("PRAGMA synchronous = OFF")
        .execute(&mut *w)
        .await?;
    let settings = Settings::default();
    let now = now_ms();
    // The first meeting month starts `months` months back; every record is received at its own time.
    let start = now - shape.months as Millis * 30 * DAY;

    // The organisation: 区委组织部, its committees, their branches.
    let mut tx = w.begin().await?;
    let root = db::query_scalar(
        "INSERT INTO orgs (parent_id, name, kind, form) VALUES (NULL, '区委组织部', $1, $2) RETURNING id",
    )
    .bind(OrgForm::Department.kind())
    .bind(OrgForm::Department.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let admin_phone = "13700000000".to_owned();
    let admin: i64 = db::query_scalar(
        "INSERT INTO users (phone, name, password_hash, role, org_id, created_at, joined_at)
         VALUES ($1, '组织部管理员', $2, 'admin', $3, $4, $4) RETURNING id",
    )
    .bind(&admin_phone)
    .bind(hash_password(PASSWORD))
    .bind(root)
    .bind(start)
    .fetch_one(&mut *tx)
    .await?;
    let mut committees = Vec::new();
    for c in 0..shape.committees {
        let entry = OrgEntry {
            parent_id: root,
            name: format!("第{}联合党委", c + 1),
            form: OrgForm::JointCommittee,
            starts_on: None,
            ends_on: None,
        };
        committees.push(tree::add(&mut tx, &entry, admin, start).await?);
    }
    let mut branches = Vec::new();
    for b in 0..shape.branches {
        let c = b % shape.committees;
        let entry = OrgEntry {
            parent_id: committees[c],
            name: format!("第{}联合党委第{}党支部", c + 1, b / shape.committees + 1),
            form: OrgForm::Branch,
            starts_on: None,
            ends_on: None,
        };
        let id = tree::add(&mut tx, &entry, admin, start).await?;
        branches.push((id, entry.name));
    }
    tx.commit().await?;
    progress(format!(
        "{} committees, {} branches",
        committees.len(),
        branches.len()
    ));

    // The people, through the roster import: the first of each branch is its 书记.
    let header = ["姓名", "手机号", "支部", "职务"]
        .map(str::to_owned)
        .to_vec();
    let phone_of = |i: usize| format!("139{i:08}");
    let mut rows = Vec::with_capacity(shape.members);
    for i in 0..shape.members {
        let (_, branch) = &branches[i % shape.branches];
        let post = if i < shape.branches { "书记" } else { "" };
        rows.push(vec![
            name_of(i),
            phone_of(i),
            branch.clone(),
            post.to_owned(),
        ]);
    }
    for chunk in rows.chunks(roster::MAX_ROWS) {
        let mut table = vec![header.clone()];
        table.extend_from_slice(chunk);
        let mut tx = w.begin().await?;
        let report = roster::run(&mut tx, &table, false, None, Some(admin), start)
            .await?
            .map_err(|e| e.to_string())?;
        if report.problems > 0 {
            let first = report.rows.iter().find(|r| !r.detail.is_empty());
            return Err(format!("roster refused: {first:?}").into());
        }
        tx.commit().await?;
    }
    progress(format!("{} members", shape.members));

    // The sample accounts: a member and the lead of the first branch, an admin of the first committee.
    let (member, lead) = (phone_of(shape.branches), phone_of(0));
    let committee = "13700000001".to_owned();
    let mut tx = w.begin().await?;
    db::query("UPDATE users SET password_hash = $1, joined_at = $2 WHERE phone IN ($3, $4)")
        .bind(hash_password(PASSWORD))
        .bind(start)
        .bind(&member)
        .bind(&lead)
        .execute(&mut *tx)
        .await?;
    db::query(
        "INSERT INTO users (phone, name, password_hash, role, org_id, created_at, joined_at)
         VALUES ($1, '党委管理员', $2, 'committee', $3, $4, $4)",
    )
    .bind(&committee)
    .bind(hash_password(PASSWORD))
    .bind(committees[0])
    .bind(start)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // Each branch's roster, in order: the lead first.
    let by_branch = people_by_branch(&mut w).await?;

    let (mut activities, mut records) = (0u64, 0u64);
    for month in 0..shape.months {
        for (branch, _) in &branches {
            let people = &by_branch[branch];
            let mut tx = w.begin().await?;
            let mut seq = Sequence::begin(&mut tx).await?;
            for k in 0..shape.meetings_per_month {
                let starts_at =
                    start + month as Millis * 30 * DAY + (k as Millis * 9 + 2) * DAY + HOUR;
                if starts_at + 3 * HOUR > now {
                    continue;
                }
                let meeting = Meeting::new(*branch, people, starts_at, k, &settings);
                let detailed = month + shape.detailed_months >= shape.months;
                for (author, m, at) in meeting.records(detailed) {
                    let receipt = sync::apply(
                        &mut tx,
                        &settings,
                        &mut seq,
                        author,
                        "scale-seed",
                        &m,
                        at,
                        None,
                        None,
                    )
                    .await?;
                    if receipt.status != ReceiptStatus::Applied {
                        return Err(format!("{:?} refused: {:?}", m.kind, receipt.reason).into());
                    }
                    records += 1;
                }
                activities += 1;
            }
            seq.save(&mut tx).await?;
            tx.commit().await?;
        }
        progress(format!(
            "month {} of {}: {activities} activities, {records} records",
            month + 1,
            shape.months
        ));
    }
    db::query("PRAGMA synchronous = FULL")
        .execute(&mut *w)
        .await?;
    drop(w);
    db::fill_name_keys(&db.writer).await?;
    db::query("PRAGMA optimize").execute(&db.writer).await?;
    Ok(Built {
        samples: Samples {
            member,
            lead,
            committee,
            admin: admin_phone,
        },
        activities,
        records,
    })
}

/// Each branch's people (id, name), its lead first.
pub(super) async fn people_by_branch(
    conn: &mut dyn Conn,
) -> Result<std::collections::BTreeMap<i64, Vec<(i64, String)>>, sqlx::Error> {
    let people: Vec<(i64, i64, String)> = db::query_as(
        "SELECT id, org_id, name FROM users WHERE role IN ('member', 'lead') ORDER BY role = 'member', id",
    )
    .fetch_all(conn)
    .await?;
    let mut by_branch = std::collections::BTreeMap::<i64, Vec<(i64, String)>>::new();
    for (id, org, name) in people {
        by_branch.entry(org).or_default().push((id, name));
    }
    Ok(by_branch)
}

/// One meeting and the records that make its history.
pub(super) struct Meeting<'a> {
    lead: Person,
    people: &'a [(i64, String)],
    pub activity: NewActivity,
}

impl<'a> Meeting<'a> {
    /// The `k`-th meeting of a month in `branch`, whose 书记 is the first of `people`.
    pub fn new(
        branch: i64,
        people: &'a [(i64, String)],
        starts_at: Millis,
        k: u32,
        settings: &Settings,
    ) -> Meeting<'a> {
        let kind = KINDS[k as usize % KINDS.len()];
        let activity = NewActivity {
            activity_id: uuid_v7(starts_at - 3 * DAY, rand::random()),
            kind,
            title: format!("{}：学习贯彻会议精神", kind.label()),
            place: "项目部会议室".to_owned(),
            starts_at,
            ends_at: starts_at + 2 * HOUR,
            mode: ActivityMode::Offline,
            secret: secret_hex(rand::random()),
            code_step_ms: settings.code_step_ms,
            code: String::new(),
            fence: None,
            study_hours: Hours::ZERO,
            group_id: None,
        };
        let lead = Person {
            id: people[0].0,
            role: Role::Lead,
            org_id: branch,
        };
        Meeting {
            lead,
            people,
            activity,
        }
    }

    /// (author, record, when it arrives), in the order they arrive: only the publication unless `detailed`.
    pub fn records(&self, detailed: bool) -> Vec<(Person, Mutation, Millis)> {
        let a = &self.activity;
        let id = &a.activity_id;
        let record = |change: Change, at: Millis| {
            Mutation::new(1, uuid_v7(at, rand::random()), &change, at, 0)
        };
        let mut out = vec![(
            self.lead,
            record(Change::CreateActivity(a.clone()), a.starts_at - 3 * DAY),
            a.starts_at - 3 * DAY,
        )];
        if !detailed {
            return out;
        }
        let signed_at = a.starts_at + 10 * 60_000;
        let code = code_at(&a.secret, signed_at, a.code_step_ms);
        let attends = |member: i64| {
            member == self.lead.id || dice(member as u64, a.starts_at as u64) < SIGN_IN_PERCENT
        };
        for (member, _) in self.people {
            if attends(*member) {
                let author = Person {
                    id: *member,
                    role: if *member == self.lead.id {
                        Role::Lead
                    } else {
                        Role::Member
                    },
                    org_id: self.lead.org_id,
                };
                let sign_in = SignIn {
                    activity_id: id.clone(),
                    code: code.clone(),
                    location: None,
                };
                out.push((
                    author,
                    record(Change::SignIn(sign_in), signed_at),
                    signed_at + 60_000,
                ));
            }
        }
        let after = a.ends_at + 10 * 60_000;
        for (member, _) in self.people.iter().filter(|(m, _)| *m != self.lead.id) {
            let change = if attends(*member) {
                Change::Confirm(Confirm {
                    activity_id: id.clone(),
                    member_id: *member,
                })
            } else {
                Change::Decide(Decide {
                    activity_id: id.clone(),
                    member_id: *member,
                    decision: Decision::Absent,
                    reason: "在外地项目施工，未能参加".to_owned(),
                })
            };
            out.push((self.lead, record(change, after), after));
        }
        let close = CloseRecord {
            activity_id: id.clone(),
            host: self.people[0].1.clone(),
            recorder: self.people[0].1.clone(),
            online_note: String::new(),
        };
        out.push((
            self.lead,
            record(Change::CloseRecord(close), after + 20 * 60_000),
            after + 20 * 60_000,
        ));
        out
    }
}
