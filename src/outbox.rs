//! The phone's side of sync, as plain data: the outbox of records waiting for the server, their receipts,
//! the local copy of what the server sent, and what a member is shown for each activity.
//!
//! The browser keeps these in localStorage (`client::store`); the rules for how they change live here so
//! that native tests cover them. A record leaves the `Pending` state only through a receipt from the
//! server — never through a timeout, a logout or an expired session.

use serde::{Deserialize, Serialize};

use crate::api::{
    ActivityView, AttendanceView, Change, FeedbackView, Mutation, PullResponse, Receipt,
    ReceiptStatus, Settings, SignIn, StudyView,
};
use crate::life::{Confirmation, RequestKind, SignInEffect};
use crate::model::{AttendanceStatus, Millis, Role};
use crate::study::{Audience, Hours, Progress, StudyRules, StudyStatus, check_editable};

mod cache;
mod feedback;
mod life;
mod queue;
mod study;
#[cfg(test)]
mod tests;

pub use cache::*;
pub use feedback::*;
pub use life::*;
pub use queue::*;
pub use study::*;
