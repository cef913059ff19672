//! Demo data for `--demo`: the district's organisation department, the construction joint committee (with
//! its committee admin) and its branch on a Shanghai site (with a 党小组), an 机关 branch, and people to log
//! in as (all with password `hongyan-demo`).
//!
//! Seeded only into an empty database, and never without `--demo`.

use super::applying::{Applying, Refusal};
use super::auth::Person;
use super::auth::hash_password;
use super::db::{Db, next_seq, now_ms};
use super::life::activities;
use crate::api::{NewActivity, Settings};
use crate::life::{ActivityMode, secret_hex};
use crate::model::{ActivityKind, Role, uuid_v7};
use crate::org::OrgForm;
use crate::server::db::{self, Conn};
use crate::study::{Day, Hours};

pub const PASSWORD: &str = "hongyan-demo";

/// (phone, name, role, org, membership, mobile member, programme)
type Seed = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    bool,
    Option<&'static str>,
);

const PEOPLE: [Seed; 10] = [
    ("13800000001", "王建国", "lead", 3, "full", true, None),
    ("13800000002", "李明", "member", 3, "full", true, None),
    (
        "13800000003",
        "赵磊",
        "member",
        4,
        "full",
        false,
        Some("沪挂"),
    ),
    ("13800000004", "张伟", "member", 3, "full", true, None),
    (
        "13800000005",
        "刘洋",
        "member",
        3,
        "probationary",
        true,
        None,
    ),
    ("13800000006", "陈静", "member", 3, "full", true, None),
    ("13800000007", "孙丽", "lead", 4, "full", false, None),
    ("13800000008", "郭强", "committee", 2, "full", false, None),
    ("13800000009", "周敏", "admin", 1, "full", false, None),
    // Home branch the 机关 branch, working on the Shanghai site: attends its branch as a guest.
    ("13800000010", "钱鹏", "member", 4, "full", true, None),
];

pub async fn seed(db: &Db, settings: &Settings) -> Result<bool, sqlx::Error> {
    let mut tx = db.writer.begin().await?;
    let users: i64 = db::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut *tx)
        .await?;
    if users > 0 {
        return Ok(false);
    }
    for (id, parent, name, form) in [
        (1, None, "区委组织部", OrgForm::Department),
        (
            2,
            Some(1),
            "流动党员建筑行业联合党委",
            OrgForm::JointCommittee,
        ),
        (3, Some(2), "上海浦东项目部党支部", OrgForm::Branch),
        (4, Some(1), "区发展改革委机关党支部", OrgForm::Branch),
        (5, Some(3), "钢筋班组党小组", OrgForm::Group),
    ] {
        db::query("INSERT INTO orgs (id, parent_id, name, kind, form) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(parent)
            .bind(name)
            .bind(form.kind())
            .bind(form.as_str())
            .execute(&mut *tx)
            .await?;
    }
    db::ids_given(&mut *tx, "orgs").await?;
    let now = now_ms();
    for (phone, name, role, org, membership, mobile, programme) in PEOPLE {
        db::query(
            "INSERT INTO users (phone, name, password_hash, role, org_id, membership, mobile, programme, created_at,
                                joined_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(phone)
        .bind(name)
        .bind(hash_password(PASSWORD))
        .bind(role)
        .bind(org)
        .bind(membership)
        .bind(mobile)
        .bind(programme)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    db::query("INSERT INTO host_orgs (user_id, org_id) SELECT id, 3 FROM users WHERE phone = '13800000010'")
        .execute(&mut *tx)
        .await?;
    // Leads are measured as branch secretaries; 赵磊 (沪挂) as a 乡科级 cadre.
    db::query("UPDATE users SET audience = 'secretary' WHERE role = 'lead'")
        .execute(&mut *tx)
        .await?;
    db::query(
        "UPDATE users SET audience = 'township', tags = '挂职干部' WHERE phone = '13800000003'",
    )
    .execute(&mut *tx)
    .await?;
    db::query("UPDATE users SET post = '书记' WHERE role = 'lead'")
        .execute(&mut *tx)
        .await?;
    db::query("UPDATE users SET group_id = 5 WHERE phone IN ('13800000001', '13800000002', '13800000004')")
        .execute(&mut *tx)
        .await?;
    db::query("UPDATE users SET tags = '流动党员' WHERE mobile = TRUE")
        .execute(&mut *tx)
        .await?;
    // One upcoming 主题党日 so a member sees something on first login.
    let lead_id: i64 = db::query_scalar("SELECT id FROM users WHERE phone = '13800000001'")
        .fetch_one(&mut *tx)
        .await?;
    let starts_at = (now / 3_600_000 + 24) * 3_600_000;
    let activity = NewActivity {
        activity_id: uuid_v7(now, rand::random()),
        kind: ActivityKind::ThemeDay,
        title: "主题党日：学习安全生产责任制".to_owned(),
        place: "上海浦东项目部会议室".to_owned(),
        starts_at,
        ends_at: starts_at + 2 * 3_600_000,
        mode: ActivityMode::Offline,
        secret: secret_hex(rand::random()),
        code_step_ms: settings.code_step_ms,
        code: String::new(),
        fence: None,
        study_hours: Hours::ZERO,
        group_id: None,
    };
    let applying = Applying {
        author: Person {
            id: lead_id,
            role: Role::Lead,
            org_id: 3,
        },
        record_id: "demo",
        device_time: now,
        offset: 0,
        seq: next_seq(&mut tx).await?,
        now,
        settings,
        synced_at: 0,
        imported_by: None,
        carried_unsigned: false,
    };
    match activities::create(&mut tx, &activity, &applying).await {
        Ok(()) => {}
        Err(Refusal::Refused(reason)) => tracing::warn!(%reason, "demo activity not created"),
        Err(Refusal::Database(e)) => return Err(e),
    }
    seed_study(&mut tx, now, applying.seq).await?;
    tx.commit().await?;
    db::fill_name_keys(&db.writer).await?;
    Ok(true)
}

/// 赵磊's year so far: a recognised week of 集中培训 at a Shanghai party school and some 网络培训.
async fn seed_study(tx: &mut dyn Conn, now: i64, seq: i64) -> Result<(), sqlx::Error> {
    let year = Day::of_millis(now).year();
    let admin: i64 = db::query_scalar("SELECT id FROM users WHERE phone = '13800000009'")
        .fetch_one(&mut *tx)
        .await?;
    let records = [
        (
            "training",
            "年轻干部能力提升专题培训班",
            "中共上海市委党校",
            "01-05",
            "01-09",
            75,
        ),
        (
            "online",
            "干部网络学院：数字经济专题",
            "江苏省干部网络学院",
            "01-12",
            "01-31",
            40,
        ),
    ];
    for (kind, title, organiser, from, to, halves) in records {
        db::query(
            "INSERT INTO study_records (id, user_id, kind, title, organiser, starts_on, ends_on, hours, programme,
                                       status, credited, reviewed_by, reviewed_at, created_at, server_seq)
             SELECT $1, id, $2, $3, $4, $5, $6, $7, 'hu_gua', 'recognised', $8, $9, $10, $11, $12 FROM users WHERE phone = '13800000003'",
        )
        .bind(uuid_v7(now, rand::random()))
        .bind(kind)
        .bind(title)
        .bind(organiser)
        .bind(format!("{year}-{from}"))
        .bind(format!("{year}-{to}"))
        .bind(halves)
        .bind(halves)
        .bind(admin)
        .bind(now)
        .bind(now)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
