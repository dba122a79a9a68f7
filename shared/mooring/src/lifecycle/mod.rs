//! The transaction lifecycle to its ends (issue 16): what moves a transaction out of a status
//! that no wallet or worker moves it out of by itself — expiry of abandoned transactions,
//! refunds, and the operator's actions (`mooring-admin`).

pub mod expiry;
pub mod operator;
pub mod refund;
pub mod stuck;
