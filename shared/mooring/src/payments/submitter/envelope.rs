//! What the submitter stores before it submits: the signed envelope, read back from the
//! transaction, and what became of it on the network.

use crate::horizon::TransactionRecord;
use crate::model::Transaction;
use crate::stellar::{claimable_balance_id, decode_envelope, xdr, AccountId, MuxedAccount};

/// What a stored envelope is, read back from its XDR.
#[derive(Debug, Clone)]
pub(super) struct Envelope {
    pub(super) xdr: String,
    pub(super) hash: String,
    pub(super) source: AccountId,
    pub(super) sequence: i64,
    pub(super) max_time: u64,
    /// Whether it pays the deposit (a payment or claimable balance), not only creates the
    /// account.
    pub(super) pays: bool,
    /// The claimable balance it creates, if any.
    pub(super) claimable_balance_id: Option<String>,
}

impl Envelope {
    pub(super) fn read(transaction: &Transaction) -> Option<Self> {
        let xdr_text = transaction.envelope_xdr.clone()?;
        let hash = transaction.envelope_hash.clone()?;
        let Ok(xdr::TransactionEnvelope::Tx(envelope)) = decode_envelope(&xdr_text) else {
            return None;
        };
        let tx = &envelope.tx;
        let source = MuxedAccount::from_xdr(&tx.source_account).account;
        let max_time = match &tx.cond {
            xdr::Preconditions::Time(bounds) => bounds.max_time.0,
            xdr::Preconditions::V2(v2) => v2.time_bounds.as_ref().map_or(0, |b| b.max_time.0),
            xdr::Preconditions::None => 0,
        };
        let mut pays = false;
        let mut balance = None;
        for (index, op) in tx.operations.iter().enumerate() {
            match &op.body {
                xdr::OperationBody::Payment(_) => pays = true,
                xdr::OperationBody::CreateClaimableBalance(_) => {
                    pays = true;
                    balance = Some(claimable_balance_id(
                        &source,
                        tx.seq_num.0,
                        u32::try_from(index).unwrap_or(0),
                    ));
                }
                _ => {}
            }
        }
        Some(Self {
            xdr: xdr_text,
            hash,
            source,
            sequence: tx.seq_num.0,
            max_time,
            pays,
            claimable_balance_id: balance,
        })
    }
}

/// What became of a stored envelope.
pub(super) enum Fate {
    Landed(TransactionRecord),
    /// It is not in the ledger and never can be.
    Never,
    /// Not in the ledger (yet).
    Undecided,
}
