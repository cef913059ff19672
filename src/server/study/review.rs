//! Who reviews whose records: the branch lead those of their branch's members; the district admin those
//! of cadres (乡科级 / 县处级) and of leads — nobody their own.

use super::*;

/// The author of a record, as scope rules need them.
pub struct Author {
    pub id: i64,
    pub role: Role,
    pub org_id: i64,
    pub audience: Audience,
}

impl Author {
    /// From the columns `users.id, role, org_id, audience`.
    pub(super) fn stored(id: i64, role: &str, org_id: i64, audience: &str) -> Author {
        Author {
            id,
            role: Role::parse(role).unwrap_or(Role::Member),
            org_id,
            audience: Audience::parse(audience).unwrap_or_default(),
        }
    }
}

/// Whether `reviewer` recognises `author`'s records. [`reviewable_sql`] says the same in SQL.
pub fn may_review(reviewer: Person, author: &Author) -> bool {
    if reviewer.id == author.id {
        return false;
    }
    let district_reviews = author.audience.is_cadre() || author.role != Role::Member;
    match reviewer.role {
        Role::Admin => district_reviews,
        Role::Lead => author.org_id == reviewer.org_id && !district_reviews,
        // 学时 are recognised by the branch or by the 区委组织部, not by a 党委's admin.
        Role::Committee | Role::Member => false,
    }
}

/// [`may_review`] as a condition on the author `u`, with the reviewer's org as `$org`.
pub(super) fn reviewable_sql(role: Role) -> &'static str {
    match role {
        Role::Admin => "(u.audience IN ('township', 'county') OR u.role != 'member')",
        Role::Lead => {
            "(u.org_id = $org AND u.role = 'member' AND u.audience IN ('member', 'secretary'))"
        }
        Role::Committee | Role::Member => "FALSE",
    }
}

pub(super) const REVIEW_SCOPE: &str =
    "只能认定本支部党员的学习记录；干部和书记的学时由区委组织部认定";

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, role: Role, org_id: i64) -> Person {
        Person { id, role, org_id }
    }

    #[test]
    fn leads_review_their_members_and_the_district_reviews_cadres_and_leads() {
        let author = |id, role, org_id, audience| Author {
            id,
            role,
            org_id,
            audience,
        };
        let lead = person(1, Role::Lead, 3);
        let admin = person(2, Role::Admin, 1);
        let member = author(10, Role::Member, 3, Audience::Member);
        let cadre = author(11, Role::Member, 3, Audience::Township);
        let other_branch = author(12, Role::Member, 4, Audience::Member);
        let a_lead = author(1, Role::Lead, 3, Audience::Secretary);
        assert!(may_review(lead, &member));
        assert!(!may_review(lead, &cadre));
        assert!(!may_review(lead, &other_branch));
        assert!(!may_review(lead, &a_lead), "nobody reviews their own");
        assert!(!may_review(admin, &member), "members are their lead's");
        assert!(may_review(admin, &cadre));
        assert!(may_review(admin, &a_lead));
        assert!(!may_review(person(10, Role::Member, 3), &member));
    }
}
