//! The anchor's records: transactions (SEP-6, SEP-24, SEP-31), customers (SEP-12) and firm
//! quotes (SEP-38).

mod customer;
mod payment;
mod quote;
mod transaction;

pub use customer::{Customer, CustomerStatus, FieldRejection};
pub use payment::{IncomingPayment, OffChainTransfer, PaymentOutcome};
pub use quote::{Quote, QuoteContext, QuoteFee, QuoteFeeDetail};
pub use transaction::{
    receiving_key as transaction_receiving_key, withdraw_memo, FeeDetails, FeeItem, HistoryEntry,
    Kind, PendingRefund, Protocol, RefundPayment, Refunds, StellarRefund, SubmissionState,
    Transaction, TransactionStatus, UserKey, MAX_HISTORY, SYSTEM_ACTOR,
};
