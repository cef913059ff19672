//! The organisation's pages, for leads and admins, online only: 成员与邀请 and each member's 成员资料,
//! 导入名册, 组织管理 (the tree), 组织生活统计, the 操作日志, and the district's 签到与提醒设置.

pub mod audit;
pub mod district;
pub mod members;
pub mod profile;
pub mod roster;
pub mod settings;
pub mod tree;
