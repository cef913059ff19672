//! 组织生活 pages: 首页 (the branch's activities, and publishing for a lead), an activity as a member sees
//! it (签到, 请假, 补签) and as its lead does (the roster, confirming, closing), the full-screen 签到码, the
//! meeting record to print, and 支部管理. All but 支部管理 work offline, from the phone's copy and outbox.

pub mod activity;
pub mod branch;
pub mod code;
pub mod home;
pub mod lead;
pub mod member;
pub mod publish;
pub mod record;
