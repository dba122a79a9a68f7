//! The anchor's outgoing Stellar transactions: payments, account creations and claimable
//! balances, built and signed deterministically from a [`PaymentSpec`].
//!
//! The transaction's source is a *channel account* (it provides the sequence number and pays the
//! fee), every operation's source is the *distribution account* (it holds the funds). Both sign.
//! With no channel accounts, `source` and `operation_source` are simply the same account.
//!
//! Retries must resubmit the same [`SignedTransaction`] (same hash), never a rebuilt one, or a
//! payment may land twice: the caller stores it before the first submission.

use sha2::{Digest, Sha256};
use stellar_xdr::{self as xdr, Limits, WriteXdr};

use super::{
    encode_envelope, sign_hash, sign_hash_with, transaction_hash, AccountId, Amount, Asset,
    Keypair, Memo, MuxedAccount, Network, Signer, SignerError,
};

/// stellar-core's limits on one transaction.
const MAX_OPERATIONS: usize = 100;
const MAX_SIGNATURES: usize = 20;
/// stellar-core's minimum fee per operation, in stroops.
pub const MIN_BASE_FEE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("a transaction needs 1 to 100 operations")]
    OperationCount,
    #[error("a transaction needs 1 to 20 signers")]
    SignerCount,
    #[error("amounts must be positive")]
    NonPositiveAmount,
    #[error("the fee must be at least 100 stroops per operation and fit in 32 bits")]
    Fee,
    #[error("the sequence number must be positive")]
    Sequence,
    #[error("the time bounds are inverted")]
    TimeBounds,
    #[error("a text memo must be at most 28 bytes")]
    Memo,
    #[error("could not encode the transaction")]
    Encode,
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// One operation of an outgoing transaction; its source is the spec's `operation_source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// `PAYMENT` to an existing account that holds (or is the issuer of) the asset.
    Payment {
        destination: MuxedAccount,
        asset: Asset,
        amount: Amount,
    },
    /// `CREATE_ACCOUNT`: funds a new account with XLM.
    CreateAccount {
        destination: AccountId,
        starting_balance: Amount,
    },
    /// `CREATE_CLAIMABLE_BALANCE` with one claimant and an unconditional predicate.
    ClaimableBalance {
        claimant: AccountId,
        asset: Asset,
        amount: Amount,
    },
}

impl Outgoing {
    fn amount(&self) -> Amount {
        match self {
            Outgoing::Payment { amount, .. } | Outgoing::ClaimableBalance { amount, .. } => *amount,
            Outgoing::CreateAccount {
                starting_balance, ..
            } => *starting_balance,
        }
    }

    fn to_xdr(&self, source: &AccountId) -> xdr::Operation {
        let body = match self {
            Outgoing::Payment {
                destination,
                asset,
                amount,
            } => xdr::OperationBody::Payment(xdr::PaymentOp {
                destination: destination.to_xdr(),
                asset: asset.to_xdr(),
                amount: amount.stroops(),
            }),
            Outgoing::CreateAccount {
                destination,
                starting_balance,
            } => xdr::OperationBody::CreateAccount(xdr::CreateAccountOp {
                destination: destination.to_xdr(),
                starting_balance: starting_balance.stroops(),
            }),
            Outgoing::ClaimableBalance {
                claimant,
                asset,
                amount,
            } => xdr::OperationBody::CreateClaimableBalance(xdr::CreateClaimableBalanceOp {
                asset: asset.to_xdr(),
                amount: amount.stroops(),
                claimants: vec![xdr::Claimant::ClaimantTypeV0(xdr::ClaimantV0 {
                    destination: claimant.to_xdr(),
                    predicate: xdr::ClaimPredicate::Unconditional,
                })]
                .try_into()
                .expect("one claimant is within the limit of 10"),
            }),
        };
        xdr::Operation {
            source_account: Some(MuxedAccount::from(*source).to_xdr()),
            body,
        }
    }
}

/// Everything an outgoing transaction is made of; [`build_signed`] is deterministic given these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSpec {
    /// The transaction source: the channel account whose sequence number is used and which pays
    /// the fee.
    pub source: AccountId,
    /// The sequence number of this transaction: the source account's current sequence + 1.
    pub sequence: i64,
    /// Fee bid per operation in stroops (at least [`MIN_BASE_FEE`]).
    pub fee_per_op: u32,
    /// `(min_time, max_time)` in Unix seconds; `max_time` 0 means no upper bound.
    pub time_bounds: (u64, u64),
    pub memo: Memo,
    /// The source of every operation: the distribution account holding the funds.
    pub operation_source: AccountId,
    pub operations: Vec<Outgoing>,
}

/// A signed transaction ready to submit (and to store before submitting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// Base64 XDR of the `TransactionEnvelope` (v1), as `POST /transactions` takes it.
    pub envelope_xdr: String,
    /// The transaction hash on the spec's network.
    pub hash: [u8; 32],
    /// Lowercase hex of `hash`: Horizon's transaction id, `stellar_transaction_id`.
    pub hash_hex: String,
}

/// Builds the v1 transaction of `spec` and signs its hash on `network` with every key in
/// `signers` (the channel account's and the distribution account's; one key when they are the
/// same account), in the order given.
pub fn build_signed(
    spec: &PaymentSpec,
    network: &Network,
    signers: &[&Keypair],
) -> Result<SignedTransaction, PaymentError> {
    let (tx, hash) = prepare(spec, network, signers.len())?;
    let signatures = signers.iter().map(|key| sign_hash(key, &hash)).collect();
    assemble(tx, hash, signatures)
}

/// [`build_signed`] with keys that may live outside this process (KMS): each signature is
/// requested in turn and checked against its account before it is used.
pub async fn build_signed_by(
    spec: &PaymentSpec,
    network: &Network,
    signers: &[&dyn Signer],
) -> Result<SignedTransaction, PaymentError> {
    let (tx, hash) = prepare(spec, network, signers.len())?;
    let mut signatures = Vec::with_capacity(signers.len());
    for signer in signers {
        signatures.push(
            sign_hash_with(*signer, &hash)
                .await
                .map_err(PaymentError::Signer)?,
        );
    }
    assemble(tx, hash, signatures)
}

/// The checked, unsigned transaction of `spec` and its hash on `network`.
fn prepare(
    spec: &PaymentSpec,
    network: &Network,
    signer_count: usize,
) -> Result<(xdr::Transaction, [u8; 32]), PaymentError> {
    if spec.operations.is_empty() || spec.operations.len() > MAX_OPERATIONS {
        return Err(PaymentError::OperationCount);
    }
    if signer_count == 0 || signer_count > MAX_SIGNATURES {
        return Err(PaymentError::SignerCount);
    }
    if spec.operations.iter().any(|op| op.amount().stroops() <= 0) {
        return Err(PaymentError::NonPositiveAmount);
    }
    if spec.sequence <= 0 {
        return Err(PaymentError::Sequence);
    }
    let (min_time, max_time) = spec.time_bounds;
    if max_time != 0 && max_time < min_time {
        return Err(PaymentError::TimeBounds);
    }
    if spec.fee_per_op < MIN_BASE_FEE {
        return Err(PaymentError::Fee);
    }
    let fee = u32::try_from(spec.operations.len())
        .ok()
        .and_then(|n| n.checked_mul(spec.fee_per_op))
        .ok_or(PaymentError::Fee)?;
    if let Memo::Text(text) = &spec.memo {
        if text.len() > 28 {
            return Err(PaymentError::Memo);
        }
    }
    let operations: Vec<xdr::Operation> = spec
        .operations
        .iter()
        .map(|op| op.to_xdr(&spec.operation_source))
        .collect();
    let tx = xdr::Transaction {
        source_account: MuxedAccount::from(spec.source).to_xdr(),
        fee,
        seq_num: xdr::SequenceNumber(spec.sequence),
        cond: xdr::Preconditions::Time(xdr::TimeBounds {
            min_time: xdr::TimePoint(min_time),
            max_time: xdr::TimePoint(max_time),
        }),
        memo: spec.memo.to_xdr(),
        operations: operations
            .try_into()
            .map_err(|_| PaymentError::OperationCount)?,
        ext: xdr::TransactionExt::V0,
    };
    let hash = transaction_hash(&tx, network).map_err(|_| PaymentError::Encode)?;
    Ok((tx, hash))
}

fn assemble(
    tx: xdr::Transaction,
    hash: [u8; 32],
    signatures: Vec<xdr::DecoratedSignature>,
) -> Result<SignedTransaction, PaymentError> {
    let envelope = xdr::TransactionEnvelope::Tx(xdr::TransactionV1Envelope {
        tx,
        signatures: signatures
            .try_into()
            .map_err(|_| PaymentError::SignerCount)?,
    });
    Ok(SignedTransaction {
        envelope_xdr: encode_envelope(&envelope).map_err(|_| PaymentError::Encode)?,
        hash,
        hash_hex: hex::encode(hash),
    })
}

/// The id of the claimable balance created by operation `op_index` (0-based) of the transaction
/// with source account `source` and sequence number `sequence`, as Horizon shows it
/// (`/claimable_balances/{id}`, the `balance_id` of claim operations): the hex of the XDR
/// `ClaimableBalanceID`, i.e. `"00000000"` (type `CLAIMABLE_BALANCE_ID_TYPE_V0`) followed by
/// SHA-256 of the XDR `HashIDPreimage` `ENVELOPE_TYPE_OP_ID {sourceAccount, seqNum, opNum}`.
///
/// As in stellar-core, `source` is the *transaction's* source (the channel account, or the inner
/// transaction's source under a fee bump), not the operation's source.
pub fn claimable_balance_id(source: &AccountId, sequence: i64, op_index: u32) -> String {
    let preimage = xdr::HashIdPreimage::OpId(xdr::HashIdPreimageOperationId {
        source_account: source.to_xdr(),
        seq_num: xdr::SequenceNumber(sequence),
        op_num: op_index,
    });
    let bytes = preimage
        .to_xdr(Limits::none())
        .expect("an operation id preimage always encodes");
    format!("00000000{}", hex::encode(Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stellar::{decode_envelope, verify_decorated};

    fn keys() -> (Keypair, Keypair, Keypair) {
        (
            Keypair::from_seed_bytes([1u8; 32]),
            Keypair::from_seed_bytes([2u8; 32]),
            Keypair::from_seed_bytes([3u8; 32]),
        )
    }

    fn spec(channel: &Keypair, distribution: &Keypair, user: &Keypair) -> PaymentSpec {
        let usdc = Asset::credit("USDC", distribution.account_id()).unwrap();
        PaymentSpec {
            source: channel.account_id(),
            sequence: 4_294_967_297,
            fee_per_op: 100,
            time_bounds: (1_700_000_000, 1_700_000_300),
            memo: Memo::Id(42),
            operation_source: distribution.account_id(),
            operations: vec![
                Outgoing::CreateAccount {
                    destination: user.account_id(),
                    starting_balance: "2".parse().unwrap(),
                },
                Outgoing::Payment {
                    destination: MuxedAccount::new(user.account_id(), Some(7)),
                    asset: usdc,
                    amount: "10.5".parse().unwrap(),
                },
            ],
        }
    }

    #[test]
    fn builds_a_v1_envelope_signed_by_both_keys() {
        let (channel, distribution, user) = keys();
        let network = Network::testnet();
        let signed = build_signed(
            &spec(&channel, &distribution, &user),
            &network,
            &[&channel, &distribution],
        )
        .unwrap();
        assert_eq!(signed.hash_hex, hex::encode(signed.hash));
        let xdr::TransactionEnvelope::Tx(envelope) = decode_envelope(&signed.envelope_xdr).unwrap()
        else {
            panic!("expected a v1 envelope")
        };
        assert_eq!(
            transaction_hash(&envelope.tx, &network).unwrap(),
            signed.hash
        );
        assert_eq!(envelope.tx.fee, 200);
        assert_eq!(envelope.tx.seq_num.0, 4_294_967_297);
        assert_eq!(envelope.tx.memo, xdr::Memo::Id(42));
        assert_eq!(envelope.signatures.len(), 2);
        assert!(verify_decorated(
            &signed.hash,
            &envelope.signatures[0],
            &channel.account_id()
        ));
        assert!(verify_decorated(
            &signed.hash,
            &envelope.signatures[1],
            &distribution.account_id()
        ));
        for op in envelope.tx.operations.iter() {
            assert_eq!(
                op.source_account,
                Some(MuxedAccount::from(distribution.account_id()).to_xdr())
            );
        }
        // Deterministic: the same spec gives the same envelope; another network another hash.
        let again = build_signed(
            &spec(&channel, &distribution, &user),
            &network,
            &[&channel, &distribution],
        )
        .unwrap();
        assert_eq!(again, signed);
        let public = build_signed(
            &spec(&channel, &distribution, &user),
            &Network::public(),
            &[&channel, &distribution],
        )
        .unwrap();
        assert_ne!(public.hash, signed.hash);
    }

    #[test]
    fn refuses_invalid_specs() {
        let (channel, distribution, user) = keys();
        let network = Network::testnet();
        let base = spec(&channel, &distribution, &user);
        let check = |change: &dyn Fn(&mut PaymentSpec), signers: &[&Keypair], want| {
            let mut s = base.clone();
            change(&mut s);
            assert_eq!(build_signed(&s, &network, signers), Err(want));
        };
        let both: &[&Keypair] = &[&channel, &distribution];
        check(
            &|s| s.operations.clear(),
            both,
            PaymentError::OperationCount,
        );
        check(
            &|s| {
                let op = s.operations[0].clone();
                s.operations = vec![op; 101];
            },
            both,
            PaymentError::OperationCount,
        );
        check(&|_| {}, &[], PaymentError::SignerCount);
        check(&|s| s.fee_per_op = 99, both, PaymentError::Fee);
        check(
            &|s| {
                let op = s.operations[0].clone();
                s.operations = vec![op; 100];
                s.fee_per_op = u32::MAX / 50;
            },
            both,
            PaymentError::Fee,
        );
        check(&|s| s.sequence = 0, both, PaymentError::Sequence);
        check(&|s| s.time_bounds = (10, 9), both, PaymentError::TimeBounds);
        check(
            &|s| s.memo = Memo::Text("x".repeat(29)),
            both,
            PaymentError::Memo,
        );
        check(
            &|s| {
                s.operations = vec![Outgoing::ClaimableBalance {
                    claimant: user.account_id(),
                    asset: Asset::Native,
                    amount: Amount::ZERO,
                }]
            },
            both,
            PaymentError::NonPositiveAmount,
        );
        // No upper time bound is allowed.
        let mut open = base.clone();
        open.time_bounds = (10, 0);
        assert!(build_signed(&open, &network, both).is_ok());
    }

    #[test]
    fn claimable_balance_ids_hash_the_operation_id() {
        let (channel, ..) = keys();
        let id = claimable_balance_id(&channel.account_id(), 5, 0);
        assert_eq!(id.len(), 8 + 64);
        assert!(id.starts_with("00000000"));
        // The preimage: envelope type OP_ID (6), the account, the sequence, the op index.
        let mut preimage = vec![0, 0, 0, 6, 0, 0, 0, 0];
        preimage.extend(channel.account_id().as_bytes());
        preimage.extend(5i64.to_be_bytes());
        preimage.extend(0u32.to_be_bytes());
        assert_eq!(&id[8..], hex::encode(Sha256::digest(&preimage)));
        assert_ne!(id, claimable_balance_id(&channel.account_id(), 5, 1));
        assert_ne!(id, claimable_balance_id(&channel.account_id(), 6, 0));
    }
}
