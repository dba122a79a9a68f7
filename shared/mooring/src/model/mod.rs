//! The anchor's records: transactions (SEP-6, SEP-24, SEP-31) and customers (SEP-12).

mod customer;
mod payment;
mod transaction;

pub use customer::{Customer, CustomerStatus};
pub use payment::{IncomingPayment, PaymentOutcome};
pub use transaction::{
    receiving_key as transaction_receiving_key, withdraw_memo, FeeDetails, FeeItem, Kind, Protocol,
    RefundPayment, Refunds, SubmissionState, Transaction, TransactionStatus, UserKey,
};
