//! The organisation's rules: the forms an organisation takes (区委 → 党委 / 联合党委 / 党总支 → 党支部 /
//! 临时党支部 / 流动党员党支部 → 党小组), what may sit under what, a temporary branch's dates, and what a member's record
//! may hold (tags, post, 流动党员 registration, exemptions). Plain functions, shared by the phone and the server.

use serde::{Deserialize, Serialize};

use crate::study::Day;

/// What the department calls an organisation; its `kind` (department / committee / branch / group) is what
/// the rest of the app goes by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgForm {
    /// 区委组织部 (the root; made with the first admin).
    Department,
    Committee,
    JointCommittee,
    GeneralBranch,
    #[default]
    Branch,
    TemporaryBranch,
    MobileBranch,
    /// 党小组: part of a branch; its members meet monthly (党小组会).
    Group,
}

impl OrgForm {
    /// The forms an admin may create.
    pub const CREATABLE: [OrgForm; 7] = [
        OrgForm::Committee,
        OrgForm::JointCommittee,
        OrgForm::GeneralBranch,
        OrgForm::Branch,
        OrgForm::TemporaryBranch,
        OrgForm::MobileBranch,
        OrgForm::Group,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgForm::Department => "department",
            OrgForm::Committee => "committee",
            OrgForm::JointCommittee => "joint_committee",
            OrgForm::GeneralBranch => "general_branch",
            OrgForm::Branch => "branch",
            OrgForm::TemporaryBranch => "temporary_branch",
            OrgForm::MobileBranch => "mobile_branch",
            OrgForm::Group => "group",
        }
    }

    pub fn parse(s: &str) -> Option<OrgForm> {
        std::iter::once(OrgForm::Department)
            .chain(OrgForm::CREATABLE)
            .find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgForm::Department => "区委组织部",
            OrgForm::Committee => "党委",
            OrgForm::JointCommittee => "联合党委",
            OrgForm::GeneralBranch => "党总支",
            OrgForm::Branch => "党支部",
            OrgForm::TemporaryBranch => "临时党支部",
            OrgForm::MobileBranch => "流动党员党支部",
            OrgForm::Group => "党小组",
        }
    }

    /// The stored kind: `department`, `committee` (may have organisations below), `branch` (has members
    /// and activities) or `group` (part of a branch).
    pub fn kind(self) -> &'static str {
        match self {
            OrgForm::Department => "department",
            OrgForm::Committee | OrgForm::JointCommittee | OrgForm::GeneralBranch => "committee",
            OrgForm::Branch | OrgForm::TemporaryBranch | OrgForm::MobileBranch => "branch",
            OrgForm::Group => "group",
        }
    }

    /// The form an organisation stored before forms were kept.
    pub fn of_kind(kind: &str) -> OrgForm {
        match kind {
            "department" => OrgForm::Department,
            "committee" => OrgForm::Committee,
            "group" => OrgForm::Group,
            _ => OrgForm::Branch,
        }
    }

    /// Whether organisations may sit below this one (below a branch, only 党小组).
    pub fn has_children(self) -> bool {
        self.kind() != "group"
    }

    /// Whether `child` may sit directly below this one: 党委-like organisations and branches below the 区委
    /// and a 党委, 党小组 below a branch, nothing below a 党小组.
    pub fn may_hold(self, child: OrgForm) -> bool {
        matches!(
            (self.kind(), child.kind()),
            ("department" | "committee", "committee" | "branch") | ("branch", "group")
        )
    }
}

/// Checks an organisation as an admin writes it: a name, a parent that may have children, and for a
/// temporary branch its start (and end, not before the start). Answers the reason when it is refused.
pub fn check(
    form: OrgForm,
    name: &str,
    parent: Option<OrgForm>,
    starts_on: Option<&str>,
    ends_on: Option<&str>,
) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err("名称应为1到60个字".to_owned());
    }
    if form == OrgForm::Department {
        return Err("区委组织部只有一个".to_owned());
    }
    match parent {
        None => return Err("请选择上级组织".to_owned()),
        Some(p) if !p.has_children() => {
            return Err(format!("{}下面不能再设组织", p.label()));
        }
        Some(p) if p.kind() == "branch" && !p.may_hold(form) => {
            return Err(format!("{}下面只能设党小组", p.label()));
        }
        Some(p) if !p.may_hold(form) => {
            return Err(format!(
                "党小组只能设在党支部下面，不能设在{}下面",
                p.label()
            ));
        }
        Some(_) => {}
    }
    let day = |s: Option<&str>| -> Result<Option<Day>, String> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Day::parse(s)
                .map(Some)
                .ok_or_else(|| format!("日期“{s}”无效，应为 2026-03-01 这样的格式")),
        }
    };
    let (start, end) = (day(starts_on)?, day(ends_on)?);
    if form == OrgForm::TemporaryBranch && start.is_none() {
        return Err("临时党支部需要填写成立日期".to_owned());
    }
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err("撤销日期不能早于成立日期".to_owned());
    }
    Ok(())
}

/// The tags a member may carry, in the order they are stored.
pub const TAGS: [&str; 3] = ["流动党员", "挂职干部", "干部"];
/// Posts that make their holder the branch's lead (书记 / 组织委员).
pub const LEAD_POSTS: [&str; 3] = ["书记", "副书记", "组织委员"];

/// Tags as written (`干部，流动党员`) in their stored order (`流动党员、干部`), or the one not known.
pub fn tags(written: &str) -> Result<String, String> {
    let mut found = Vec::new();
    for tag in written
        .split(['、', ',', '，', ';', '；', '/', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if !TAGS.contains(&tag) {
            return Err(format!("不认识的标签“{tag}”（可用：{}）", TAGS.join("、")));
        }
        found.push(tag);
    }
    Ok(TAGS
        .into_iter()
        .filter(|t| found.contains(t))
        .collect::<Vec<_>>()
        .join("、"))
}

/// Most host branches and exemptions one member's record keeps.
pub const MAX_HOST_ORGS: usize = 20;
pub const MAX_EXEMPTIONS: usize = 20;

/// What an edit of a member's record changes, one field each as `label：old → new`, for the audit log.
/// `org` names an organisation (host branches, 党小组) by id.
pub fn profile_changes(
    old: &crate::api::MemberProfile,
    new: &crate::api::MemberProfile,
    org: impl Fn(i64) -> String,
) -> Vec<String> {
    use crate::model::Membership;
    let shown = |s: String| {
        if s.trim().is_empty() {
            "（无）".to_owned()
        } else {
            s
        }
    };
    let category = |m: Membership| match m {
        Membership::Full => "正式党员",
        Membership::Probationary => "预备党员",
    };
    let hosts = |ids: &[i64]| ids.iter().map(|&id| org(id)).collect::<Vec<_>>().join("、");
    let mobile = |m: &Option<crate::api::MobileRegistration>| {
        m.as_ref().map_or(String::new(), |m| {
            format!(
                "{} {} {}至{} 活动证{}（有效期至{}） 最近联系{}",
                m.destination.trim(),
                m.employer.trim(),
                m.starts_on.trim(),
                m.ends_on.trim(),
                m.card_no.trim(),
                m.card_valid_until.trim(),
                m.last_contact_on.trim()
            )
        })
    };
    let exemptions = |e: &[crate::api::Exemption]| {
        e.iter()
            .map(|e| format!("{}（至{}）", e.reason.trim(), e.until.trim()))
            .collect::<Vec<_>>()
            .join("、")
    };
    let fields = [
        (
            "类别",
            category(old.membership).to_owned(),
            category(new.membership).to_owned(),
        ),
        (
            "职务",
            old.post.trim().to_owned(),
            new.post.trim().to_owned(),
        ),
        (
            "标签",
            old.tags.clone(),
            tags(&new.tags).unwrap_or_else(|_| new.tags.clone()),
        ),
        (
            "学时对象",
            old.audience.label().to_owned(),
            new.audience.label().to_owned(),
        ),
        (
            "参加组织生活的其他支部",
            hosts(&old.host_org_ids),
            hosts(&new.host_org_ids),
        ),
        (
            "党小组",
            old.group_id.map(&org).unwrap_or_default(),
            new.group_id.map(&org).unwrap_or_default(),
        ),
        ("流动党员登记", mobile(&old.mobile), mobile(&new.mobile)),
        (
            "免参加",
            exemptions(&old.exemptions),
            exemptions(&new.exemptions),
        ),
    ];
    fields
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(label, a, b)| format!("{label}：{} → {}", shown(a), shown(b)))
        .collect()
}

/// Checks a member's record as their lead or an admin writes it (`home`: their home branch).
pub fn check_profile(p: &crate::api::MemberProfile, home: i64) -> Result<(), String> {
    tags(&p.tags)?;
    if p.post.trim().chars().count() > 20 {
        return Err("职务最多20个字".to_owned());
    }
    if p.host_org_ids.contains(&home) {
        return Err("参加组织生活的其他支部不能是本人所在支部".to_owned());
    }
    let date = |label: &str, s: &str, required: bool| -> Result<Option<Day>, String> {
        match s.trim() {
            "" if required => Err(format!("请填写{label}")),
            "" => Ok(None),
            s => Day::parse(s)
                .map(Some)
                .ok_or_else(|| format!("{label}“{s}”无效，应为 2026-03-01 这样的格式")),
        }
    };
    if let Some(m) = &p.mobile {
        let text = |label: &str, s: &str, max: usize| {
            if s.trim().chars().count() > max {
                Err(format!("{label}最多{max}个字"))
            } else {
                Ok(())
            }
        };
        if m.destination.trim().is_empty() {
            return Err("请填写外出地点".to_owned());
        }
        text("外出地点", &m.destination, 100)?;
        text("工作单位或项目", &m.employer, 100)?;
        text("活动证编号", &m.card_no, 30)?;
        let start = date("外出日期", &m.starts_on, true)?;
        let end = date("返回日期", &m.ends_on, false)?;
        date("活动证有效期", &m.card_valid_until, false)?;
        date("最近联系日期", &m.last_contact_on, false)?;
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            return Err("返回日期不能早于外出日期".to_owned());
        }
    }
    if p.host_org_ids.len() > MAX_HOST_ORGS || p.exemptions.len() > MAX_EXEMPTIONS {
        return Err(format!(
            "最多{MAX_HOST_ORGS}个参加组织生活的其他支部、{MAX_EXEMPTIONS}条免参加记录"
        ));
    }
    for e in &p.exemptions {
        let reason = e.reason.trim();
        if reason.is_empty() || reason.chars().count() > 50 {
            return Err("免参加原因应为1到50个字".to_owned());
        }
        date("免参加截止日期", &e.until, true)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_however_written_and_stored_in_order() {
        assert_eq!(tags("干部，流动党员").unwrap(), "流动党员、干部");
        assert_eq!(tags(" ").unwrap(), "");
        assert!(tags("劳模").unwrap_err().contains("劳模"));
    }

    #[test]
    fn a_members_record_is_checked_with_reasons() {
        use crate::api::{Exemption, MemberProfile, MobileRegistration};
        let mobile = MobileRegistration {
            destination: "上海市浦东新区".into(),
            employer: "某建工集团苏州河项目".into(),
            starts_on: "2026-03-01".into(),
            card_no: "苏流2026-0012".into(),
            card_valid_until: "2027-02-28".into(),
            ..Default::default()
        };
        let mut p = MemberProfile {
            tags: "流动党员".into(),
            mobile: Some(mobile.clone()),
            exemptions: vec![Exemption {
                reason: "孕产".into(),
                until: "2026-12-31".into(),
            }],
            host_org_ids: vec![3],
            ..Default::default()
        };
        assert_eq!(check_profile(&p, 4), Ok(()));
        assert!(check_profile(&p, 3).unwrap_err().contains("所在支部"));
        p.mobile = Some(MobileRegistration {
            ends_on: "2026-02-01".into(),
            ..mobile.clone()
        });
        assert!(check_profile(&p, 4).unwrap_err().contains("不能早于"));
        p.mobile = Some(MobileRegistration {
            destination: " ".into(),
            ..mobile.clone()
        });
        assert!(check_profile(&p, 4).unwrap_err().contains("外出地点"));
        p.mobile = Some(MobileRegistration {
            card_valid_until: "明年".into(),
            ..mobile
        });
        assert!(check_profile(&p, 4).unwrap_err().contains("活动证有效期"));
        p.mobile = None;
        p.exemptions[0].until = String::new();
        assert!(check_profile(&p, 4).unwrap_err().contains("截止日期"));
    }

    #[test]
    fn an_edit_is_described_field_by_field_as_old_and_new() {
        use crate::api::{Exemption, MemberProfile};
        use crate::model::Membership;
        use crate::study::Audience;
        let old = MemberProfile {
            audience: Audience::Township,
            host_org_ids: vec![3],
            ..Default::default()
        };
        let new = MemberProfile {
            membership: Membership::Probationary,
            audience: Audience::Member,
            post: "组织委员".into(),
            host_org_ids: vec![3, 4],
            exemptions: vec![Exemption {
                reason: "孕产".into(),
                until: "2026-12-31".into(),
            }],
            ..Default::default()
        };
        let name = |id: i64| format!("{id}支部");
        assert_eq!(
            profile_changes(&old, &new, name),
            [
                "类别：正式党员 → 预备党员",
                "职务：（无） → 组织委员",
                "学时对象：乡科级及以下干部 → 党员",
                "参加组织生活的其他支部：3支部 → 3支部、4支部",
                "免参加：（无） → 孕产（至2026-12-31）",
            ]
        );
        assert!(profile_changes(&old, &old, name).is_empty());
    }

    #[test]
    fn forms_round_trip_and_map_to_kinds() {
        for form in OrgForm::CREATABLE.into_iter().chain([OrgForm::Department]) {
            assert_eq!(OrgForm::parse(form.as_str()), Some(form));
        }
        assert_eq!(OrgForm::TemporaryBranch.kind(), "branch");
        assert_eq!(OrgForm::JointCommittee.kind(), "committee");
        assert_eq!(OrgForm::of_kind("committee"), OrgForm::Committee);
        assert_eq!(OrgForm::Group.kind(), "group");
        assert_eq!(OrgForm::of_kind("group"), OrgForm::Group);
        assert!(OrgForm::MobileBranch.has_children() && !OrgForm::Group.has_children());
        assert!(OrgForm::MobileBranch.may_hold(OrgForm::Group));
        assert!(!OrgForm::MobileBranch.may_hold(OrgForm::Branch));
        assert!(OrgForm::Department.may_hold(OrgForm::GeneralBranch));
        assert!(!OrgForm::Department.may_hold(OrgForm::Group));
    }

    #[test]
    fn organisations_are_checked_with_reasons() {
        let ok = |f, p| {
            check(
                f,
                "某项目临时党支部",
                Some(p),
                Some("2026-03-01"),
                Some("2026-12-31"),
            )
        };
        assert_eq!(
            ok(OrgForm::TemporaryBranch, OrgForm::JointCommittee),
            Ok(())
        );
        assert!(
            ok(OrgForm::Branch, OrgForm::Branch)
                .unwrap_err()
                .contains("下面只能设党小组")
        );
        assert_eq!(ok(OrgForm::Group, OrgForm::TemporaryBranch), Ok(()));
        assert!(
            ok(OrgForm::Group, OrgForm::Committee)
                .unwrap_err()
                .contains("党小组只能设在党支部下面")
        );
        assert!(
            ok(OrgForm::Group, OrgForm::Group)
                .unwrap_err()
                .contains("党小组下面不能再设组织")
        );
        assert!(ok(OrgForm::Department, OrgForm::Department).is_err());
        let no_start = check(
            OrgForm::TemporaryBranch,
            "x",
            Some(OrgForm::Department),
            None,
            None,
        );
        assert!(no_start.unwrap_err().contains("成立日期"));
        let reversed = check(
            OrgForm::Branch,
            "x",
            Some(OrgForm::Department),
            Some("2026-05-01"),
            Some("2026-04-30"),
        );
        assert!(reversed.unwrap_err().contains("不能早于"));
        let bad = check(
            OrgForm::Branch,
            "x",
            Some(OrgForm::Department),
            Some("2026-02-30"),
            None,
        );
        assert!(bad.unwrap_err().contains("无效"));
        assert!(check(OrgForm::Branch, " ", Some(OrgForm::Department), None, None).is_err());
        assert!(check(OrgForm::Branch, "x", None, None, None).is_err());
        assert_eq!(
            check(
                OrgForm::Branch,
                "x",
                Some(OrgForm::Committee),
                Some(""),
                None
            ),
            Ok(())
        );
    }
}
