//! The organisation tree's rules: the forms an organisation takes (区委 → 党委 / 联合党委 / 党总支 → 党支部 /
//! 临时党支部 / 流动党员党支部), what may sit under what, and a temporary branch's dates. Plain functions,
//! shared by the admin's phone and the server.

use serde::{Deserialize, Serialize};

use crate::study::Day;

/// What the department calls an organisation; its `kind` (department / committee / branch) is what the
/// rest of the app goes by.
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
}

impl OrgForm {
    /// The forms an admin may create.
    pub const CREATABLE: [OrgForm; 6] = [
        OrgForm::Committee,
        OrgForm::JointCommittee,
        OrgForm::GeneralBranch,
        OrgForm::Branch,
        OrgForm::TemporaryBranch,
        OrgForm::MobileBranch,
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
        }
    }

    /// The stored kind: `department`, `committee` (may have organisations below) or `branch` (has members).
    pub fn kind(self) -> &'static str {
        match self {
            OrgForm::Department => "department",
            OrgForm::Committee | OrgForm::JointCommittee | OrgForm::GeneralBranch => "committee",
            OrgForm::Branch | OrgForm::TemporaryBranch | OrgForm::MobileBranch => "branch",
        }
    }

    /// The form an organisation stored before forms were kept.
    pub fn of_kind(kind: &str) -> OrgForm {
        match kind {
            "department" => OrgForm::Department,
            "committee" => OrgForm::Committee,
            _ => OrgForm::Branch,
        }
    }

    /// Whether organisations may sit below this one.
    pub fn has_children(self) -> bool {
        self.kind() != "branch"
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
    match parent {
        None => return Err("请选择上级组织".to_owned()),
        Some(p) if !p.has_children() => {
            return Err(format!("{}下面不能再设组织", p.label()));
        }
        Some(_) => {}
    }
    if form == OrgForm::Department {
        return Err("区委组织部只有一个".to_owned());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_and_map_to_kinds() {
        for form in OrgForm::CREATABLE.into_iter().chain([OrgForm::Department]) {
            assert_eq!(OrgForm::parse(form.as_str()), Some(form));
        }
        assert_eq!(OrgForm::TemporaryBranch.kind(), "branch");
        assert_eq!(OrgForm::JointCommittee.kind(), "committee");
        assert_eq!(OrgForm::of_kind("committee"), OrgForm::Committee);
        assert!(!OrgForm::MobileBranch.has_children() && OrgForm::GeneralBranch.has_children());
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
                .contains("下面不能再设组织")
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
