//! CPU cost of SEP-10 on the server: issuing a challenge (GET /auth) and verifying a signed one
//! into a JWT (POST /auth), with the Horizon lookup answered in memory. Target: the two together
//! at most 0.4 ms per login (Polaris: ~4.7 ms).
//!
//! Run: `cargo bench -p mooring --features testing --bench sep10_login`

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use mooring::clock::SystemClock;
use mooring::config::{AnchorConfig, Sep10Config};
use mooring::horizon::{AccountRecord, InMemoryHorizon};
use mooring::sep10::{ChallengeRequest, InMemoryClientDomains, Ports, WebAuth};
use mooring::stellar::xdr;
use mooring::stellar::{
    decode_envelope, encode_envelope, sign_hash, transaction_hash, Keypair, Network,
};
use mooring::store::InMemoryStore;

fn service(
    horizon: InMemoryHorizon,
) -> WebAuth<InMemoryHorizon, InMemoryClientDomains, InMemoryStore> {
    let server = Keypair::from_seed_bytes([1; 32]);
    let env: BTreeMap<String, String> = [
        ("HOME_DOMAIN", "anchor.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_SEED", server.secret_seed().as_str()),
        ("JWT_SECRET", "bench-secret-bench-secret-bench-secret"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let anchor = AnchorConfig::from_source(&env).unwrap();
    let sep10 = Sep10Config::from_source(&env, &anchor).unwrap();
    let ports = Ports {
        horizon,
        client_domains: InMemoryClientDomains::default(),
        challenges: InMemoryStore::default(),
        clock: Arc::new(SystemClock),
    };
    WebAuth::new(anchor, sep10, ports)
}

fn wallet_signs(challenge: &str, wallet: &Keypair) -> String {
    let xdr::TransactionEnvelope::Tx(mut envelope) = decode_envelope(challenge).unwrap() else {
        unreachable!()
    };
    let hash = transaction_hash(&envelope.tx, &Network::testnet()).unwrap();
    let mut signatures = envelope.signatures.to_vec();
    signatures.push(sign_hash(wallet, &hash));
    envelope.signatures = signatures.try_into().unwrap();
    encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let wallet = Keypair::from_seed_bytes([2; 32]);
    let account = wallet.account_id().to_string();
    let horizon = InMemoryHorizon::default();
    let record = format!(
        r#"{{"account_id":"{account}","sequence":"1","thresholds":{{"low_threshold":0,"med_threshold":0,"high_threshold":0}},
            "signers":[{{"key":"{account}","weight":1,"type":"ed25519_public_key"}}],"balances":[]}}"#
    );
    horizon.insert(AccountRecord::from_horizon_json(record.as_bytes()).unwrap());
    let auth = service(horizon);
    let request = ChallengeRequest {
        account: Some(&account),
        ..Default::default()
    };

    c.bench_function("sep10 GET /auth (challenge)", |b| {
        b.iter(|| runtime.block_on(auth.challenge(request)).unwrap())
    });
    c.bench_function("sep10 POST /auth (verify + JWT)", |b| {
        b.iter_batched(
            || {
                let challenge = runtime.block_on(auth.challenge(request)).unwrap();
                wallet_signs(&challenge.transaction, &wallet)
            },
            |signed| runtime.block_on(auth.token(&signed)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("sep10 login (challenge + verify + JWT, server side)", |b| {
        b.iter_batched(
            || (),
            |()| {
                let challenge = runtime.block_on(auth.challenge(request)).unwrap();
                // The wallet's signature is part of the loop but not of the server's cost; it is
                // one ed25519 signing, reported separately below.
                let signed = wallet_signs(&challenge.transaction, &wallet);
                runtime.block_on(auth.token(&signed)).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("wallet signing alone (subtract from login)", |b| {
        let challenge = runtime.block_on(auth.challenge(request)).unwrap();
        b.iter(|| wallet_signs(&challenge.transaction, &wallet))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
