//! 组织生活 on the server: activities (published, edited, cancelled, closed) and their rosters (签到,
//! requests, confirmations, decisions), all arriving in pushes and applied by the rules in
//! [`crate::life`]; and the lead's desk work online — the attendance register as CSV or Excel, and the
//! quiet list.

pub(crate) mod activities;
pub(crate) mod attendance;
pub(crate) mod register;
