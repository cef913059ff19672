//! The organisation on the server: its tree (`tree`), the members a lead or admin looks after with their
//! invitations and profiles (`accounts`), the department's roster import (`roster`), the district view
//! (`district`) and the audit log (`audit`).

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod district;
pub(crate) mod roster;
pub(crate) mod tree;
