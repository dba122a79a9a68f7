//! Prints, as JSON, outgoing transactions built by `mooring::stellar::payment` from fixed keys, so
//! that an independent implementation (tests/e2e/test_payment_xdr.py, on the Python stellar-sdk)
//! can rebuild each one from its parameters and compare envelope, hash and claimable balance ids.
//!
//! ```sh
//! cargo run -q --example payment_vectors
//! ```

use mooring::stellar::{
    build_signed, claimable_balance_id, Amount, Asset, Keypair, Memo, MuxedAccount, Network,
    Outgoing, PaymentSpec,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A test key: its seed is SHA-256 of `mooring payment vectors <name>`.
fn key(name: &str) -> Keypair {
    Keypair::from_seed_bytes(Sha256::digest(format!("mooring payment vectors {name}")).into())
}

/// The keys that sign a vector, by name.
type Signers<'a> = Vec<(&'a str, &'a Keypair)>;

fn amount(s: &str) -> Amount {
    s.parse().expect("a valid amount")
}

fn operation_json(op: &Outgoing) -> Value {
    match op {
        Outgoing::Payment {
            destination,
            asset,
            amount,
        } => json!({"type": "payment", "destination": destination.to_string(),
                    "asset": asset.to_string(), "amount": amount.to_string()}),
        Outgoing::CreateAccount {
            destination,
            starting_balance,
        } => json!({"type": "create_account", "destination": destination.to_string(),
                    "starting_balance": starting_balance.to_string()}),
        Outgoing::ClaimableBalance {
            claimant,
            asset,
            amount,
        } => json!({"type": "claimable_balance", "claimant": claimant.to_string(),
                    "asset": asset.to_string(), "amount": amount.to_string()}),
    }
}

fn main() {
    let network = Network::testnet();
    let channel = key("channel");
    let distribution = key("distribution");
    let user = key("user");
    let issuer = key("issuer");
    let usdc = Asset::credit("USDC", issuer.account_id()).expect("asset");
    let long = Asset::credit("MOORINGTEST1", issuer.account_id()).expect("asset");
    let sequence = (123_456i64 << 32) + 7;
    let bounds = (1_700_000_000, 1_700_000_300);
    let base = PaymentSpec {
        source: channel.account_id(),
        sequence,
        fee_per_op: 100,
        time_bounds: bounds,
        memo: Memo::Id(18_446_744_073_709_551_615),
        operation_source: distribution.account_id(),
        operations: Vec::new(),
    };
    let both = vec![("channel", &channel), ("distribution", &distribution)];
    let cases: Vec<(&str, PaymentSpec, Signers)> = vec![
        (
            "payment_to_muxed_with_id_memo",
            PaymentSpec {
                operations: vec![Outgoing::Payment {
                    destination: MuxedAccount::new(user.account_id(), Some(9_000_000_000)),
                    asset: usdc.clone(),
                    amount: amount("1234.5678901"),
                }],
                ..base.clone()
            },
            both.clone(),
        ),
        (
            "create_account_then_native_payment_text_memo",
            PaymentSpec {
                fee_per_op: 250,
                memo: Memo::Text("deposit 42 café".into()),
                operations: vec![
                    Outgoing::CreateAccount {
                        destination: user.account_id(),
                        starting_balance: amount("2"),
                    },
                    Outgoing::Payment {
                        destination: user.account_id().into(),
                        asset: Asset::Native,
                        amount: amount("0.0000001"),
                    },
                ],
                ..base.clone()
            },
            both.clone(),
        ),
        (
            "claimable_balances_hash_memo",
            PaymentSpec {
                memo: Memo::Hash(Sha256::digest(b"sep-24 deposit").into()),
                operations: vec![
                    Outgoing::ClaimableBalance {
                        claimant: user.account_id(),
                        asset: long.clone(),
                        amount: amount("50"),
                    },
                    Outgoing::ClaimableBalance {
                        claimant: user.account_id(),
                        asset: usdc.clone(),
                        amount: amount("922337203685.4775807"),
                    },
                ],
                ..base.clone()
            },
            both.clone(),
        ),
        (
            "distribution_as_its_own_channel_no_memo_open_bounds",
            PaymentSpec {
                source: distribution.account_id(),
                sequence: 1,
                time_bounds: (0, 0),
                memo: Memo::None,
                operations: vec![Outgoing::Payment {
                    destination: user.account_id().into(),
                    asset: usdc.clone(),
                    amount: amount("10"),
                }],
                ..base.clone()
            },
            vec![("distribution", &distribution)],
        ),
    ];

    let mut vectors = Vec::new();
    for (name, spec, signers) in cases {
        let keys: Vec<&Keypair> = signers.iter().map(|(_, k)| *k).collect();
        let signed = build_signed(&spec, &network, &keys).expect("a valid spec");
        let balance_ids: Vec<Value> = spec
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| match op {
                Outgoing::ClaimableBalance { .. } => {
                    json!(claimable_balance_id(&spec.source, spec.sequence, i as u32))
                }
                _ => Value::Null,
            })
            .collect();
        vectors.push(json!({
            "name": name,
            "source": spec.source.to_string(),
            "sequence": spec.sequence.to_string(),
            "fee_per_op": spec.fee_per_op,
            "min_time": spec.time_bounds.0,
            "max_time": spec.time_bounds.1,
            "memo_type": spec.memo.type_name(),
            "memo": spec.memo.value(),
            "operation_source": spec.operation_source.to_string(),
            "operations": spec.operations.iter().map(operation_json).collect::<Vec<_>>(),
            "signers": signers.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            "envelope_xdr": signed.envelope_xdr,
            "hash": signed.hash_hex,
            "claimable_balance_ids": balance_ids,
        }));
    }
    let keys = [
        ("channel", &channel),
        ("distribution", &distribution),
        ("user", &user),
        ("issuer", &issuer),
    ];
    let out = json!({
        "network_passphrase": network.passphrase(),
        "keys": keys
            .iter()
            .map(|(n, k)| (n.to_string(), json!(k.secret_seed().as_str())))
            .collect::<serde_json::Map<_, _>>(),
        "vectors": vectors,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&out).expect("JSON output")
    );
}
