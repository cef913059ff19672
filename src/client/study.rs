//! 学习记录 pages: a cadre's study ledger and its form (offline), the reviewers' desk and 学时完成情况, and
//! the district's 学时要求.

pub mod ledger;
pub mod requirements;
pub mod review;
