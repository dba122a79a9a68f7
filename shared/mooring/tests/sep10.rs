//! SEP-10 behaviour through mooring's public API, with in-memory ports and a fixed clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use mooring::clock::FixedClock;
use mooring::config::{AnchorConfig, Sep10Config};
use mooring::horizon::{AccountRecord, InMemoryHorizon};
use mooring::sep10::{
    build_challenge, routes, ChallengeRequest, ChallengeSpec, ClientDomainResolver,
    HttpClientDomainResolver, InMemoryClientDomains, Ports, WebAuth, WebAuthUser,
};
use mooring::stellar::xdr;
use mooring::stellar::{
    decode_envelope, encode_envelope, sign_hash, transaction_hash, verify_decorated,
    FakeKeyService, Keypair, Memo, MuxedAccount, Network, Signer, SignerError,
};
use mooring::store::InMemoryStore;
use sha2::{Digest, Sha256};

const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";
const NOW: u64 = 1_700_000_100;

fn seeded(label: &str) -> Keypair {
    Keypair::from_seed_bytes(Sha256::digest(label.as_bytes()).into())
}

fn server() -> Keypair {
    seeded("sep-digest server")
}

fn client() -> Keypair {
    seeded("sep-digest client")
}

fn settings(extra: &[(&str, &str)]) -> (AnchorConfig, Sep10Config) {
    let seed = server().secret_seed();
    let mut env: BTreeMap<String, String> = [
        ("HOME_DOMAINS", "example.com,other.example"),
        ("PUBLIC_URL", "https://auth.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_SEED", seed.as_str()),
        ("JWT_SECRET", JWT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let anchor = AnchorConfig::from_source(&env).unwrap();
    let sep10 = Sep10Config::from_source(&env, &anchor).unwrap();
    (anchor, sep10)
}

struct Harness<C = InMemoryClientDomains> {
    auth: WebAuth<Arc<InMemoryHorizon>, C, InMemoryStore>,
    horizon: Arc<InMemoryHorizon>,
    clock: Arc<FixedClock>,
}

fn harness() -> Harness {
    harness_with(&[], InMemoryClientDomains::default())
}

fn harness_with<C: ClientDomainResolver>(extra: &[(&str, &str)], client_domains: C) -> Harness<C> {
    let (anchor, sep10) = settings(extra);
    harness_of(anchor, sep10, client_domains)
}

/// The variables of a deployment whose SEP-10 key is in KMS: `SIGNING_KEY` is [`server`]'s.
fn kms_env() -> BTreeMap<String, String> {
    [
        ("HOME_DOMAINS", "example.com,other.example"),
        ("PUBLIC_URL", "https://auth.example.com"),
        ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
        ("SIGNING_KEY", &server().account_id().to_string()),
        ("SIGNING_KMS_KEY_ID", "alias/sep10"),
        ("JWT_SECRET", JWT_SECRET),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The settings of a deployment whose SEP-10 key is in KMS (`SIGNING_KMS_KEY_ID`, no seed):
/// `kms` stands for the key service, holding [`server`]'s key.
async fn kms_settings(kms: Arc<FakeKeyService>) -> (AnchorConfig, Sep10Config) {
    let env = kms_env();
    let anchor = AnchorConfig::from_source(&env).unwrap();
    let sep10 = Sep10Config::connect(&env, &anchor, |key_id| async move {
        assert_eq!(key_id, "alias/sep10");
        Ok(kms as Arc<dyn Signer>)
    })
    .await
    .unwrap();
    (anchor, sep10)
}

fn harness_of<C: ClientDomainResolver>(
    anchor: AnchorConfig,
    sep10: Sep10Config,
    client_domains: C,
) -> Harness<C> {
    let horizon = Arc::new(InMemoryHorizon::default());
    let clock = Arc::new(FixedClock::at(NOW));
    Harness {
        auth: WebAuth::new(
            anchor,
            sep10,
            Ports {
                horizon: horizon.clone(),
                client_domains,
                challenges: InMemoryStore::default(),
                clock: clock.clone(),
            },
        ),
        horizon,
        clock,
    }
}

fn envelope_of(b64: &str) -> xdr::TransactionV1Envelope {
    match decode_envelope(b64).unwrap() {
        xdr::TransactionEnvelope::Tx(e) => e,
        _ => panic!("not a v1 envelope"),
    }
}

/// Adds `signers`' signatures to a challenge, as a wallet does.
fn sign(b64: &str, signers: &[&Keypair]) -> String {
    let mut envelope = envelope_of(b64);
    let hash = transaction_hash(&envelope.tx, &Network::testnet()).unwrap();
    let mut signatures = envelope.signatures.to_vec();
    signatures.extend(signers.iter().map(|k| sign_hash(k, &hash)));
    envelope.signatures = signatures.try_into().unwrap();
    encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).unwrap()
}

/// Rebuilds a transaction with a change, signed by the server: a challenge the server could
/// have issued but never would.
fn forged(b64: &str, change: impl FnOnce(&mut xdr::Transaction), signer: &Keypair) -> String {
    let mut envelope = envelope_of(b64);
    change(&mut envelope.tx);
    let hash = transaction_hash(&envelope.tx, &Network::testnet()).unwrap();
    envelope.signatures = vec![sign_hash(signer, &hash)].try_into().unwrap();
    encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).unwrap()
}

async fn challenge_for(
    h: &Harness<impl ClientDomainResolver>,
    account: &str,
    memo: Option<&str>,
) -> String {
    h.auth
        .challenge(ChallengeRequest {
            account: Some(account),
            memo,
            ..Default::default()
        })
        .await
        .unwrap()
        .transaction
}

async fn refusal(h: &Harness<impl ClientDomainResolver>, transaction: &str) -> String {
    match h.auth.token(transaction).await {
        Ok(_) => panic!("the challenge was accepted"),
        Err(e) => {
            let api: mooring::error::ApiError = e.into();
            assert_eq!(api.status(), 400, "{api}");
            api.to_string()
        }
    }
}

fn account(id: &Keypair, signers: &[(&Keypair, u32)], medium: u8) -> AccountRecord {
    let signers_json: Vec<_> = signers
        .iter()
        .map(|(k, w)| serde_json::json!({"key": k.account_id().to_string(), "weight": w, "type": "ed25519_public_key"}))
        .collect();
    let json = serde_json::json!({
        "account_id": id.account_id().to_string(),
        "sequence": "1",
        "thresholds": {"low_threshold": 0, "med_threshold": medium, "high_threshold": medium},
        "signers": signers_json,
        "balances": [{"asset_type": "native", "balance": "10.0000000"}],
    });
    AccountRecord::from_horizon_json(json.to_string().as_bytes()).unwrap()
}

// --- Digest 10.10: the test vector, byte for byte -------------------------------------------

const VECTOR_ENVELOPE: &str = "AAAAAgAAAACIgZIEs6/oGS4Vv4HP86gzk0s72PTZ9dOsrx/SSBeuVQAAAMgAAAAAAAAAAAAAAAEAAAAAZVPxAAAAAABlU/SEAAAAAAAAAAIAAAABAAAAAPnDt4N3OfB3Jd7+d1CL/GrH1q3AOt0CLaKhQDTt8Dt2AAAACgAAABBleGFtcGxlLmNvbSBhdXRoAAAAAQAAAEBBQUVDQXdRRkJnY0lDUW9MREEwT0R4QVJFaE1VRlJZWEdCa2FHeHdkSGg4Z0lTSWpKQ1VtSnlncEtpc3NMUzR2AAAAAQAAAACIgZIEs6/oGS4Vv4HP86gzk0s72PTZ9dOsrx/SSBeuVQAAAAoAAAAPd2ViX2F1dGhfZG9tYWluAAAAAAEAAAAQYXV0aC5leGFtcGxlLmNvbQAAAAAAAAABSBeuVQAAAEC99N2n7YfqzI7lozSO8N2G+SCPLSSawbCD0hVfKZJ/csg3/22NvCoXuGjIOOGYHy7UsBUfCb7oFJoOvFgwP6MD";
const VECTOR_HASH: &str = "51b591615ae416b0b7bb987be81e11ff19f1caa49efcd08fb9a1c540feee7658";
const VECTOR_CLIENT_SIGNATURE: &str =
    "9xrYxlt7bUPhkF6FofodZ0ILHt5WlDUuZXDZ3bBQjNyuEIEnJFP7jcl13Of4Rl5TWjVq63jYq3ZJ9PXsESadAQ==";

#[test]
fn digest_vector_keys_and_hints() {
    assert_eq!(
        server().account_id().to_string(),
        "GCEIDEQEWOX6QGJOCW7YDT7TVAZZGSZ33D2NT5OTVSXR7USIC6XFKVSM"
    );
    assert_eq!(hex::encode(server().account_id().hint()), "4817ae55");
    assert_eq!(
        client().account_id().to_string(),
        "GD44HN4DO447A5ZF337HOUEL7RVMPVVNYA5N2ARNUKQUANHN6A5XMYJ2"
    );
    assert_eq!(hex::encode(client().account_id().hint()), "edf03b76");
}

#[tokio::test]
async fn digest_vector_challenge_is_reproduced_byte_for_byte() {
    let nonce: [u8; 48] = std::array::from_fn(|i| i as u8);
    let server = server();
    let envelope = build_challenge(&ChallengeSpec {
        server: &server,
        network: &Network::testnet(),
        client: client().account_id().into(),
        memo: Memo::None,
        home_domain: "example.com",
        web_auth_domain: "auth.example.com",
        client_domain: None,
        nonce,
        min_time: 1_700_000_000,
        max_time: 1_700_000_900,
    })
    .await
    .unwrap();
    assert_eq!(encode_envelope(&envelope).unwrap(), VECTOR_ENVELOPE);
    let xdr::TransactionEnvelope::Tx(v1) = &envelope else {
        unreachable!()
    };
    let hash = transaction_hash(&v1.tx, &Network::testnet()).unwrap();
    assert_eq!(hex::encode(hash), VECTOR_HASH);
    // ed25519 is deterministic: the wallet's signature is the digest's too.
    let client_signature = sign_hash(&client(), &hash);
    assert_eq!(hex::encode(client_signature.hint.0), "edf03b76");
    assert_eq!(
        BASE64.encode(client_signature.signature.0.as_slice()),
        VECTOR_CLIENT_SIGNATURE
    );
}

#[tokio::test]
async fn digest_vector_verifies_into_a_jwt() {
    // PUBLIC_URL https://auth.example.com makes the web_auth_domain the vector's.
    let h = harness();
    let mut envelope = envelope_of(VECTOR_ENVELOPE);
    let mut signatures = envelope.signatures.to_vec();
    signatures.push(xdr::DecoratedSignature {
        hint: xdr::SignatureHint([0xed, 0xf0, 0x3b, 0x76]),
        signature: xdr::Signature(
            BASE64
                .decode(VECTOR_CLIENT_SIGNATURE)
                .unwrap()
                .try_into()
                .unwrap(),
        ),
    });
    envelope.signatures = signatures.try_into().unwrap();
    let signed = encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).unwrap();
    let claims = h.auth.verify(&signed).await.unwrap();
    assert_eq!(claims.sub, client().account_id().to_string());
    assert_eq!(claims.jti, VECTOR_HASH);
    assert_eq!(claims.home_domain, "example.com");
    assert_eq!(claims.iss, "https://auth.example.com/auth");
    assert_eq!((claims.iat, claims.exp), (NOW, NOW + 86_400));
    // After the challenge's maxTime it is refused.
    h.clock.set(1_700_000_901);
    assert!(refusal(&h, &signed).await.contains("expired"));
}

// --- GET /auth ---------------------------------------------------------------------------------

#[tokio::test]
async fn challenge_follows_the_construction_rules() {
    let h = harness();
    let client = client().account_id().to_string();
    let challenge = h
        .auth
        .challenge(ChallengeRequest {
            account: Some(&client),
            memo: Some("17509749319012223907"),
            home_domain: Some("other.example"),
            client_domain: None,
        })
        .await
        .unwrap();
    assert_eq!(challenge.network_passphrase, Network::TESTNET_PASSPHRASE);
    let envelope = envelope_of(&challenge.transaction);
    let tx = &envelope.tx;
    assert_eq!(
        tx.source_account,
        MuxedAccount::from(server().account_id()).to_xdr()
    );
    assert_eq!(tx.seq_num.0, 0);
    assert_eq!(tx.fee, 200);
    assert_eq!(tx.memo, xdr::Memo::Id(17_509_749_319_012_223_907));
    let xdr::Preconditions::Time(bounds) = &tx.cond else {
        panic!("no time bounds")
    };
    assert_eq!((bounds.min_time.0, bounds.max_time.0), (NOW, NOW + 900));
    let ops: Vec<_> = tx.operations.iter().collect();
    assert_eq!(ops.len(), 2);
    let xdr::OperationBody::ManageData(first) = &ops[0].body else {
        panic!()
    };
    assert_eq!(
        ops[0].source_account,
        Some(MuxedAccount::from(client_kp_id()).to_xdr())
    );
    assert_eq!(first.data_name.0.as_slice(), b"other.example auth");
    let nonce = first.data_value.as_ref().unwrap().0.as_slice();
    assert_eq!(nonce.len(), 64);
    assert_eq!(BASE64.decode(nonce).unwrap().len(), 48);
    let xdr::OperationBody::ManageData(second) = &ops[1].body else {
        panic!()
    };
    assert_eq!(
        ops[1].source_account,
        Some(MuxedAccount::from(server().account_id()).to_xdr())
    );
    assert_eq!(second.data_name.0.as_slice(), b"web_auth_domain");
    assert_eq!(
        second.data_value.as_ref().unwrap().0.as_slice(),
        b"auth.example.com"
    );
    assert_eq!(envelope.signatures.len(), 1);
    let hash = transaction_hash(tx, &Network::testnet()).unwrap();
    assert!(mooring::stellar::verify_decorated(
        &hash,
        &envelope.signatures[0],
        &server().account_id()
    ));
    // Two challenges never share a nonce.
    let again = h
        .auth
        .challenge(ChallengeRequest {
            account: Some(&client),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_ne!(again.transaction, challenge.transaction);
}

fn client_kp_id() -> mooring::stellar::AccountId {
    client().account_id()
}

#[tokio::test]
async fn challenge_requests_are_validated() {
    let h = harness();
    let g = client().account_id().to_string();
    let m = MuxedAccount::new(client().account_id(), Some(5)).to_string();
    let cases: [(ChallengeRequest, &str); 6] = [
        (ChallengeRequest::default(), "'account' is required"),
        (
            ChallengeRequest {
                account: Some("GBAD"),
                ..Default::default()
            },
            "account: 'GBAD' is not a valid",
        ),
        (
            ChallengeRequest {
                account: Some(&g),
                memo: Some("abc"),
                ..Default::default()
            },
            "memo must be an id memo",
        ),
        (
            ChallengeRequest {
                account: Some(&g),
                memo: Some("-1"),
                ..Default::default()
            },
            "memo must be an id memo",
        ),
        (
            ChallengeRequest {
                account: Some(&m),
                memo: Some("1"),
                ..Default::default()
            },
            "memo cannot be used with a muxed",
        ),
        (
            ChallengeRequest {
                account: Some(&g),
                home_domain: Some("evil.com"),
                ..Default::default()
            },
            "home_domain 'evil.com' is not served here",
        ),
    ];
    for (request, message) in cases {
        let error = h.auth.challenge(request).await.unwrap_err().to_string();
        assert!(
            error.contains(message),
            "{error:?} does not contain {message:?}"
        );
    }
}

// --- POST /auth: success paths ------------------------------------------------------------------

#[tokio::test]
async fn missing_account_signed_by_its_master_key_gets_a_token() {
    let h = harness();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    let token = h
        .auth
        .token(&sign(&challenge, &[&client()]))
        .await
        .unwrap()
        .token;
    let claims = h.auth.jwt().verify(&token, NOW).unwrap();
    assert_eq!(claims.sub, client().account_id().to_string());
    assert_eq!(
        claims.jti,
        hex::encode(transaction_hash(&envelope_of(&challenge).tx, &Network::testnet()).unwrap())
    );
    assert_eq!(claims.client_domain, None);
}

#[tokio::test]
async fn memo_and_muxed_subjects() {
    let h = harness();
    let g = client().account_id().to_string();
    let with_memo = challenge_for(&h, &g, Some("42")).await;
    let claims = h
        .auth
        .verify(&sign(&with_memo, &[&client()]))
        .await
        .unwrap();
    assert_eq!(claims.sub, format!("{g}:42"));
    let m = MuxedAccount::new(client().account_id(), Some(42)).to_string();
    let muxed = challenge_for(&h, &m, None).await;
    let claims = h.auth.verify(&sign(&muxed, &[&client()])).await.unwrap();
    assert_eq!(claims.sub, m);
    // Both forms name the same user downstream.
    let a = WebAuthUser::from_subject(&format!("{g}:42")).unwrap();
    let b = WebAuthUser::from_subject(&m).unwrap();
    assert_eq!((a.account, a.memo), (b.account, b.memo));
}

// --- Multi-signer accounts, read from Horizon's exact JSON ------------------------------------

fn multisig_fixture() -> AccountRecord {
    AccountRecord::from_horizon_json(include_bytes!("fixtures/horizon_account_multisig.json"))
        .unwrap()
}

/// The fixture's second ed25519 signer (seed of all 7s).
fn cosigner() -> Keypair {
    Keypair::from_seed_bytes([7; 32])
}

#[test]
fn horizon_fixture_parses() {
    let record = multisig_fixture();
    assert_eq!(record.account_id, client().account_id());
    assert_eq!(record.sequence, 4_367_141_206_835_201);
    assert_eq!(record.thresholds.medium, 2);
    let ed25519: Vec<_> = record.ed25519_signers().collect();
    assert_eq!(
        ed25519,
        [(cosigner().account_id(), 1), (client().account_id(), 1)]
    );
    assert_eq!(record.balances.len(), 2);
    assert_eq!(record.balances[0].balance.to_string(), "125.5");
}

#[tokio::test]
async fn multisig_needs_the_medium_threshold() {
    let h = harness();
    h.horizon.insert(multisig_fixture());
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;

    let one = refusal(&h, &sign(&challenge, &[&client()])).await;
    assert!(
        one.contains("below the account's medium threshold 2"),
        "{one}"
    );
    let other_one = refusal(&h, &sign(&challenge, &[&cosigner()])).await;
    assert!(other_one.contains("medium threshold"), "{other_one}");

    let both = h
        .auth
        .verify(&sign(&challenge, &[&client(), &cosigner()]))
        .await
        .unwrap();
    assert_eq!(both.sub, client().account_id().to_string());

    let twice = refusal(&h, &sign(&challenge, &[&client(), &client()])).await;
    assert!(twice.contains("more than once"), "{twice}");

    let stranger = refusal(
        &h,
        &sign(&challenge, &[&client(), &cosigner(), &seeded("stranger")]),
    )
    .await;
    assert!(stranger.contains("unrecognized signatures"), "{stranger}");
}

#[tokio::test]
async fn existing_account_signer_rules() {
    let h = harness();
    let user = seeded("user");
    // Master key weight 0: it can no longer sign for the account.
    h.horizon
        .insert(account(&user, &[(&user, 0), (&cosigner(), 5)], 3));
    let challenge = challenge_for(&h, &user.account_id().to_string(), None).await;
    assert!(refusal(&h, &sign(&challenge, &[&user]))
        .await
        .contains("unrecognized"));
    assert!(h
        .auth
        .verify(&sign(&challenge, &[&cosigner()]))
        .await
        .is_ok());
    // No client signature at all.
    assert!(refusal(&h, &challenge)
        .await
        .contains("not signed by the client account"));
    // The server key never counts towards the client's weight, even as a listed signer.
    let shared = seeded("shared");
    h.horizon
        .insert(account(&shared, &[(&shared, 1), (&server(), 10)], 2));
    let challenge = challenge_for(&h, &shared.account_id().to_string(), None).await;
    let server_kp = server();
    assert!(refusal(&h, &sign(&challenge, &[&shared, &server_kp]))
        .await
        .contains("unrecognized"));
    // Thresholds of 0 still need one signature of weight >= 1.
    let open = seeded("open");
    h.horizon.insert(account(&open, &[(&open, 1)], 0));
    let challenge = challenge_for(&h, &open.account_id().to_string(), None).await;
    assert!(h.auth.verify(&sign(&challenge, &[&open])).await.is_ok());
}

#[tokio::test]
async fn horizon_outage_is_a_503_not_a_400() {
    let h = harness();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    h.horizon.set_unavailable(true);
    let error: mooring::error::ApiError = h
        .auth
        .token(&sign(&challenge, &[&client()]))
        .await
        .unwrap_err()
        .into();
    assert_eq!(error.status(), 503);
    assert!(
        !error.to_string().contains("in-memory"),
        "internal cause leaked: {error}"
    );
}

// --- The SEP-10 key in KMS ----------------------------------------------------------------------

#[tokio::test]
async fn a_key_in_kms_signs_challenges_that_wallets_exchange_for_tokens() {
    let kms = Arc::new(FakeKeyService::new(server()));
    let (anchor, sep10) = kms_settings(kms.clone()).await;
    assert_eq!(sep10.server_key.account_id(), server().account_id());
    let h = harness_of(anchor, sep10, InMemoryClientDomains::default());
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    let envelope = envelope_of(&challenge);
    let hash = transaction_hash(&envelope.tx, &Network::testnet()).unwrap();
    assert!(verify_decorated(
        &hash,
        &envelope.signatures[0],
        &server().account_id()
    ));
    let token = h.auth.token(&sign(&challenge, &[&client()])).await.unwrap();
    assert!(h.auth.jwt().verify(&token.token, NOW).is_ok());
    // A challenge signed by the key service's key, checked with the public key only.
    let forged_by_other = forged(&challenge, |_| {}, &seeded("someone else"));
    assert!(refusal(&h, &sign(&forged_by_other, &[&client()]))
        .await
        .contains("not signed by this server"));
}

#[tokio::test]
async fn a_key_service_that_cannot_sign_is_a_503_with_an_error_body() {
    let kms = Arc::new(FakeKeyService::new(server()));
    let (anchor, sep10) = kms_settings(kms.clone()).await;
    let h = harness_of(anchor, sep10, InMemoryClientDomains::default());
    let account = client().account_id().to_string();
    for failure in [
        SignerError::Unavailable("Sign: ThrottlingException (secret-internal-detail)".into()),
        // A key service answering garbage: caught before the challenge is handed out.
        SignerError::BadSignature,
    ] {
        kms.fail_with(Some(failure));
        let get = http::Request::get(format!("/auth?account={account}"))
            .body(Vec::new())
            .unwrap();
        let response = routes::handle(&h.auth, &get).await;
        assert_eq!(response.status(), 503, "{}", response.body());
        let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "could not sign the challenge; try again"})
        );
    }
    kms.fail_with(None);
    challenge_for(&h, &account, None).await;
}

#[tokio::test]
async fn a_key_in_kms_must_be_the_published_signing_key_and_excludes_a_seed() {
    let base = kms_env();
    let anchor = AnchorConfig::from_source(&base).unwrap();
    let connect = |env: BTreeMap<String, String>, key: Keypair| {
        let anchor = anchor.clone();
        async move {
            Sep10Config::connect(&env, &anchor, |_| async move {
                Ok(Arc::new(FakeKeyService::new(key)) as Arc<dyn Signer>)
            })
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
    };
    assert_eq!(connect(base.clone(), server()).await, Ok(()));
    let other = seeded("another key");
    let error = connect(base.clone(), other.clone()).await.unwrap_err();
    assert!(
        error.starts_with("SIGNING_KMS_KEY_ID is invalid: is the key of")
            && error.contains(&format!("not SIGNING_KEY ({})", server().account_id())),
        "{error}"
    );
    let mut both = base.clone();
    both.insert("SIGNING_SEED".into(), server().secret_seed().to_string());
    assert_eq!(
        connect(both, server()).await.unwrap_err(),
        "SIGNING_KMS_KEY_ID is invalid: set SIGNING_KMS_KEY_ID or SIGNING_SEED (SIGNING_SEED_ARN), not both"
    );
    // A key service that cannot be reached: the function does not start.
    let unreachable = Sep10Config::connect(&base, &anchor, |_| async {
        Err(SignerError::Unavailable("GetPublicKey: no route".into()))
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        unreachable.starts_with("SIGNING_KMS_KEY_ID is invalid: the key service could not sign"),
        "{unreachable}"
    );
    // The local form refuses a key in KMS rather than ignoring it.
    assert!(Sep10Config::from_source(&base, &anchor)
        .unwrap_err()
        .to_string()
        .contains("needs the function's KMS client"));
}

// --- POST /auth: every refusal ----------------------------------------------------------------

#[tokio::test]
async fn refuses_bad_challenges() {
    let h = harness();
    let g = client().account_id().to_string();
    let challenge = challenge_for(&h, &g, None).await;
    let server = server();
    let signed = |b64: String| sign(&b64, &[&client()]);

    let cases: Vec<(String, &str)> = vec![
        ("AAAA".into(), "not a valid base64"),
        ("not base64!".into(), "not a valid base64"),
        (challenge.clone(), "not signed by the client account"),
        (
            sign(&challenge, &[&seeded("wrong client")]),
            "not the client account's",
        ),
        (
            sign(&challenge, &[&client(), &seeded("extra")]),
            "unrecognized signatures",
        ),
        (
            signed(forged(&challenge, |_| {}, &seeded("not the server"))),
            "not signed by this server",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.seq_num = xdr::SequenceNumber(1),
                &server,
            )),
            "sequence number must be 0",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.source_account = MuxedAccount::from(client().account_id()).to_xdr(),
                &server,
            )),
            "source account is not",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.cond = xdr::Preconditions::None,
                &server,
            )),
            "must have time bounds",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.cond = time_bounds(NOW - 1000, NOW - 100),
                &server,
            )),
            "expired",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.cond = time_bounds(NOW + 301, NOW + 900),
                &server,
            )),
            "not valid yet",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.cond = time_bounds(0, 0),
                &server,
            )),
            "maximum time",
        ),
        (
            signed(forged(
                &challenge,
                |tx| set_data(tx, 0, b"evil.com auth", None),
                &server,
            )),
            "does not name a home domain",
        ),
        (
            signed(forged(
                &challenge,
                |tx| set_data(tx, 0, b"example.com auth", Some(b"short")),
                &server,
            )),
            "64-byte base64 nonce",
        ),
        (
            signed(forged(
                &challenge,
                |tx| set_data(tx, 1, b"web_auth_domain", Some(b"evil.com")),
                &server,
            )),
            "web_auth_domain does not match",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.memo = xdr::Memo::Text("hi".as_bytes().to_vec().try_into().unwrap()),
                &server,
            )),
            "memo must be an id memo",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.operations = Vec::new().try_into().unwrap(),
                &server,
            )),
            "no operations",
        ),
        (
            signed(forged(
                &challenge,
                |tx| {
                    set_source(
                        tx,
                        1,
                        Some(MuxedAccount::from(client().account_id()).to_xdr()),
                    )
                },
                &server,
            )),
            "source is not this server",
        ),
        (
            signed(forged(&challenge, |tx| set_source(tx, 0, None), &server)),
            "first operation must be a ManageData",
        ),
        (
            signed(forged(
                &challenge,
                |tx| tx.operations = vec![tx.operations[0].clone()].try_into().unwrap(),
                &server,
            )),
            "no web_auth_domain",
        ),
        (
            signed(forged(
                &challenge,
                |tx| {
                    let mut ops = tx.operations.to_vec();
                    ops.push(xdr::Operation {
                        source_account: Some(MuxedAccount::from(server.account_id()).to_xdr()),
                        body: xdr::OperationBody::BumpSequence(xdr::BumpSequenceOp {
                            bump_to: xdr::SequenceNumber(9),
                        }),
                    });
                    tx.operations = ops.try_into().unwrap();
                },
                &server,
            )),
            "every challenge operation must be a ManageData",
        ),
    ];
    for (transaction, expected) in cases {
        let message = refusal(&h, &transaction).await;
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
    }
}

#[tokio::test]
async fn tampering_after_signing_breaks_the_server_signature() {
    let h = harness();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    let mut envelope = envelope_of(&challenge);
    set_data(&mut envelope.tx, 0, b"example.com auth", Some(&[b'A'; 64]));
    let tampered = encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).unwrap();
    let message = refusal(&h, &sign(&tampered, &[&client()])).await;
    assert!(message.contains("not signed by this server"), "{message}");
}

#[tokio::test]
async fn a_server_signature_altered_in_any_byte_is_refused() {
    let h = harness();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    assert!(h.auth.token(&sign(&challenge, &[&client()])).await.is_ok());
    // A byte of R (0..32) or of S (32..64): each changes what the server's key must have made.
    for byte in [0, 17, 31, 32, 50, 63] {
        let mut envelope = envelope_of(&challenge);
        let mut signatures = envelope.signatures.to_vec();
        let mut altered = signatures[0].signature.0.to_vec();
        altered[byte] ^= 0x40;
        signatures[0].signature = altered.try_into().unwrap();
        envelope.signatures = signatures.try_into().unwrap();
        let altered = encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).unwrap();
        let message = refusal(&h, &sign(&altered, &[&client()])).await;
        assert!(
            message.contains("not signed by this server"),
            "byte {byte}: {message}"
        );
    }
}

#[tokio::test]
async fn memo_with_a_muxed_client_is_refused() {
    let h = harness();
    let m = MuxedAccount::new(client().account_id(), Some(9)).to_string();
    let challenge = challenge_for(&h, &m, None).await;
    let forged = forged(&challenge, |tx| tx.memo = xdr::Memo::Id(9), &server());
    let message = refusal(&h, &sign(&forged, &[&client()])).await;
    assert!(message.contains("memo and a muxed client"), "{message}");
}

#[tokio::test]
async fn fee_bump_envelopes_are_refused() {
    let h = harness();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    let inner = envelope_of(&challenge);
    let bump = xdr::TransactionEnvelope::TxFeeBump(xdr::FeeBumpTransactionEnvelope {
        tx: xdr::FeeBumpTransaction {
            fee_source: MuxedAccount::from(client().account_id()).to_xdr(),
            fee: 400,
            inner_tx: xdr::FeeBumpTransactionInnerTx::Tx(inner),
            ext: xdr::FeeBumpTransactionExt::V0,
        },
        signatures: Vec::new().try_into().unwrap(),
    });
    let message = refusal(&h, &encode_envelope(&bump).unwrap()).await;
    assert!(message.contains("v1 transaction envelope"), "{message}");
}

fn time_bounds(min: u64, max: u64) -> xdr::Preconditions {
    xdr::Preconditions::Time(xdr::TimeBounds {
        min_time: xdr::TimePoint(min),
        max_time: xdr::TimePoint(max),
    })
}

fn set_source(tx: &mut xdr::Transaction, index: usize, source: Option<xdr::MuxedAccount>) {
    let mut ops = tx.operations.to_vec();
    ops[index].source_account = source;
    tx.operations = ops.try_into().unwrap();
}

fn set_data(tx: &mut xdr::Transaction, index: usize, name: &[u8], value: Option<&[u8]>) {
    let mut ops = tx.operations.to_vec();
    let xdr::OperationBody::ManageData(data) = &mut ops[index].body else {
        panic!("not ManageData")
    };
    data.data_name = xdr::String64(name.to_vec().try_into().unwrap());
    if let Some(value) = value {
        data.data_value = Some(xdr::DataValue(value.to_vec().try_into().unwrap()));
    }
    tx.operations = ops.try_into().unwrap();
}

// --- client_domain ----------------------------------------------------------------------------

#[tokio::test]
async fn client_domain_is_attested_and_must_sign() {
    let wallet = seeded("wallet");
    let domains = InMemoryClientDomains(HashMap::from([(
        "wallet.example".to_owned(),
        wallet.account_id(),
    )]));
    let h = harness_with(&[], domains);
    let g = client().account_id().to_string();
    let challenge = h
        .auth
        .challenge(ChallengeRequest {
            account: Some(&g),
            client_domain: Some("wallet.example"),
            ..Default::default()
        })
        .await
        .unwrap()
        .transaction;
    let envelope = envelope_of(&challenge);
    let op = &envelope.tx.operations[2];
    assert_eq!(
        op.source_account,
        Some(MuxedAccount::from(wallet.account_id()).to_xdr())
    );
    let xdr::OperationBody::ManageData(data) = &op.body else {
        panic!()
    };
    assert_eq!(data.data_name.0.as_slice(), b"client_domain");
    assert_eq!(
        data.data_value.as_ref().unwrap().0.as_slice(),
        b"wallet.example"
    );

    let without_wallet = refusal(&h, &sign(&challenge, &[&client()])).await;
    assert!(
        without_wallet.contains("client domain's SIGNING_KEY"),
        "{without_wallet}"
    );
    let claims = h
        .auth
        .verify(&sign(&challenge, &[&client(), &wallet]))
        .await
        .unwrap();
    assert_eq!(claims.client_domain.as_deref(), Some("wallet.example"));

    let unknown = h
        .auth
        .challenge(ChallengeRequest {
            account: Some(&g),
            client_domain: Some("unknown.example"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let unknown: mooring::error::ApiError = unknown.into();
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn client_domain_policy() {
    let g = client().account_id().to_string();
    let request = |domain| ChallengeRequest {
        account: Some(&g),
        client_domain: domain,
        ..Default::default()
    };
    let required = harness_with(
        &[("SEP10_CLIENT_DOMAIN_REQUIRED", "true")],
        InMemoryClientDomains::default(),
    );
    assert!(required
        .auth
        .challenge(request(None))
        .await
        .unwrap_err()
        .to_string()
        .contains("client_domain is required"));
    // A denied domain is ignored (SEP-10: servers that do not verify a domain ignore it).
    let denied = harness_with(
        &[("SEP10_CLIENT_DOMAIN_DENYLIST", "bad.example")],
        InMemoryClientDomains::default(),
    );
    let challenge = denied
        .auth
        .challenge(request(Some("bad.example")))
        .await
        .unwrap()
        .transaction;
    assert_eq!(envelope_of(&challenge).tx.operations.len(), 2);
    assert!(denied
        .auth
        .challenge(request(Some("not a domain")))
        .await
        .is_err());
}

/// Serves one fixed HTTP response per connection on 127.0.0.1, for the real HTTP resolver.
async fn serve_once_per_connection(body: &'static str, status: &'static str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    port
}

#[tokio::test]
async fn http_resolver_reads_a_wallet_toml_from_a_local_server() {
    let toml = "VERSION=\"2.0.0\"\nSIGNING_KEY=\"GD44HN4DO447A5ZF337HOUEL7RVMPVVNYA5N2ARNUKQUANHN6A5XMYJ2\"\n";
    let port = serve_once_per_connection(toml, "200 OK").await;
    let domain = format!("127.0.0.1:{port}");
    let insecure = HttpClientDomainResolver::new(std::time::Duration::from_secs(2), true).unwrap();
    assert_eq!(
        insecure.signing_key(&domain).await.unwrap(),
        client().account_id()
    );

    // Production settings never fetch over http nor from private addresses.
    let strict = HttpClientDomainResolver::new(std::time::Duration::from_secs(2), false).unwrap();
    let error = strict.signing_key(&domain).await.unwrap_err().to_string();
    assert!(error.contains("private address"), "{error}");
    let error = strict
        .signing_key(&format!("localhost:{port}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("could not fetch"), "{error}");

    let missing = serve_once_per_connection("nothing here", "404 Not Found").await;
    let error = insecure
        .signing_key(&format!("127.0.0.1:{missing}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("HTTP 404"), "{error}");
    let no_key = serve_once_per_connection("VERSION=\"2.0.0\"\n", "200 OK").await;
    let error = insecure
        .signing_key(&format!("127.0.0.1:{no_key}"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("no valid SIGNING_KEY"), "{error}");
}

#[tokio::test]
async fn full_flow_through_the_http_routes() {
    let (anchor, sep10) = settings(&[("SEP10_CLIENT_DOMAIN_ALLOW_INSECURE", "true")]);
    let toml = "SIGNING_KEY=\"GDVEU3DD4KOFECV66VIHWEZOYX4ZKR3WV27L464SIIPOU2IUI3JCZA57\"\n";
    let port = serve_once_per_connection(toml, "200 OK").await;
    let resolver = HttpClientDomainResolver::new(std::time::Duration::from_secs(2), true).unwrap();
    let auth = WebAuth::new(
        anchor,
        sep10,
        Ports {
            horizon: Arc::new(InMemoryHorizon::default()),
            client_domains: resolver,
            challenges: InMemoryStore::default(),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    );
    let g = client().account_id().to_string();
    let get = http::Request::get(format!("/auth?account={g}&client_domain=127.0.0.1:{port}"))
        .body(Vec::new())
        .unwrap();
    let response = routes::handle(&auth, &get).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    assert_eq!(
        body.as_object().unwrap().len(),
        2,
        "only transaction and network_passphrase"
    );
    let signed = sign(
        body["transaction"].as_str().unwrap(),
        &[&client(), &cosigner()],
    );

    let json = http::Request::post("/auth")
        .header("content-type", "application/json")
        .body(
            serde_json::json!({ "transaction": signed })
                .to_string()
                .into_bytes(),
        )
        .unwrap();
    let response = routes::handle(&auth, &json).await;
    assert_eq!(response.status(), 200, "{}", response.body());
    let token: serde_json::Value = serde_json::from_str(response.body()).unwrap();
    let claims = auth
        .jwt()
        .verify(token["token"].as_str().unwrap(), NOW)
        .unwrap();
    assert_eq!(claims.client_domain, Some(format!("127.0.0.1:{port}")));

    let form_body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("transaction", &signed)
        .finish();
    let form = http::Request::post("/auth")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body.into_bytes())
        .unwrap();
    assert_eq!(routes::handle(&auth, &form).await.status(), 200);

    for (request, status) in [
        (
            http::Request::post("/auth")
                .header("content-type", "application/json")
                .body(b"{}".to_vec())
                .unwrap(),
            400,
        ),
        (
            http::Request::post("/auth")
                .header("content-type", "application/json")
                .body(b"{nope".to_vec())
                .unwrap(),
            400,
        ),
        (
            http::Request::post("/auth")
                .header("content-type", "application/xml")
                .body(b"<x/>".to_vec())
                .unwrap(),
            415,
        ),
        (
            http::Request::post("/auth")
                .body(vec![b'a'; 70_000])
                .unwrap(),
            413,
        ),
        (http::Request::get("/auth").body(Vec::new()).unwrap(), 400),
        (
            http::Request::get("/auth?account=x&account=y")
                .body(Vec::new())
                .unwrap(),
            400,
        ),
        (
            http::Request::delete("/auth").body(Vec::new()).unwrap(),
            405,
        ),
        (
            http::Request::options("/auth").body(Vec::new()).unwrap(),
            204,
        ),
    ] {
        let response = routes::handle(&auth, &request).await;
        assert_eq!(
            response.status(),
            status,
            "{} {}: {}",
            request.method(),
            request.uri(),
            response.body()
        );
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        if status >= 400 {
            let body: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            assert!(!body["error"].as_str().unwrap().is_empty());
        }
    }
}

// --- Replay protection ---------------------------------------------------------------------------

/// Used challenges are kept until their expiry by the wall clock (as DynamoDB's TTL does), so
/// these tests run at the real time.
fn harness_now() -> Harness {
    let h = harness();
    h.clock
        .set(mooring::clock::Clock::now(&mooring::clock::SystemClock));
    h
}

#[tokio::test]
async fn a_challenge_is_exchanged_for_a_token_at_most_once() {
    let h = harness_now();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    let signed = sign(&challenge, &[&client()]);
    assert!(h.auth.token(&signed).await.is_ok());
    let message = refusal(&h, &signed).await;
    assert!(message.contains("already been used"), "{message}");
    // A refused attempt does not burn a challenge: a fresh one, first sent unsigned, still works.
    let fresh = challenge_for(&h, &client().account_id().to_string(), None).await;
    assert!(refusal(&h, &fresh)
        .await
        .contains("not signed by the client"));
    assert!(h.auth.token(&sign(&fresh, &[&client()])).await.is_ok());
}

#[tokio::test]
async fn concurrent_replays_get_one_token() {
    let h = harness_now();
    let challenge = challenge_for(&h, &client().account_id().to_string(), None).await;
    let signed = sign(&challenge, &[&client()]);
    let (a, b) = tokio::join!(h.auth.token(&signed), h.auth.token(&signed));
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
}

// --- Rotation of the SEP-10 key and the JWT secret ----------------------------------------------

#[tokio::test]
async fn after_a_rotation_the_old_key_and_secret_are_honoured_until_their_deadline_only() {
    let old = harness();
    let challenge = challenge_for(&old, &client().account_id().to_string(), None).await;
    let signed = sign(&challenge, &[&client()]);
    let old_token = old
        .auth
        .token(&sign(
            &challenge_for(&old, &client().account_id().to_string(), None).await,
            &[&client()],
        ))
        .await
        .unwrap()
        .token;

    let new_seed = seeded("rotated server").secret_seed();
    let new_secret = "a-new-secret-a-new-secret-a-new-secret";
    let previous_key = server().account_id().to_string();
    let until = (NOW + 100).to_string();
    let rotated = |until: &str| {
        harness_with(
            &[
                ("SIGNING_SEED", new_seed.as_str()),
                ("SIGNING_KEY_PREVIOUS", previous_key.as_str()),
                ("SIGNING_KEY_PREVIOUS_UNTIL", until),
                ("JWT_SECRET", new_secret),
                ("JWT_SECRET_PREVIOUS", JWT_SECRET),
                ("JWT_SECRET_PREVIOUS_UNTIL", until),
            ],
            InMemoryClientDomains::default(),
        )
    };
    let new = rotated(&until);
    // A challenge the old key issued before the rotation still gets a token (from the new
    // secret), and the old key's tokens still verify.
    let token = new.auth.token(&signed).await.expect("old challenge").token;
    assert!(new.auth.jwt().verify(&token, NOW).is_ok());
    assert!(new.auth.jwt().verify(&old_token, NOW).is_ok());
    // New challenges come from the new key.
    let fresh = challenge_for(&new, &client().account_id().to_string(), None).await;
    assert_eq!(
        envelope_of(&fresh).tx.source_account,
        MuxedAccount::from(seeded("rotated server").account_id()).to_xdr()
    );
    // Past the deadline the old key's tokens are refused, though they have not expired.
    assert_eq!(
        new.auth.jwt().verify(&old_token, NOW + 100),
        Err(mooring::sep10::JwtError::Invalid)
    );
    assert!(new.auth.jwt().verify(&token, NOW + 100).is_ok());
    // ... and so are its challenges.
    let late = rotated(&NOW.to_string());
    let another = sign(
        &challenge_for(&old, &client().account_id().to_string(), None).await,
        &[&client()],
    );
    assert!(refusal(&late, &another)
        .await
        .contains("not this server's signing key"));
}

/// The bounds of `mooring::limits` on SEP-10: each a 4xx `{"error"}` through the handler.
#[tokio::test]
async fn oversized_input_is_a_4xx() {
    use mooring::limits::{MAX_AUTH_BODY_BYTES, MAX_PARAM_BYTES};
    let h = harness();
    let answer = |request: http::Request<Vec<u8>>| {
        let auth = &h.auth;
        async move {
            let response = routes::handle(auth, &request).await;
            let body: serde_json::Value =
                serde_json::from_str(response.body()).expect("a JSON body");
            (
                response.status().as_u16(),
                body["error"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let post = |content_type: &str, body: Vec<u8>| {
        http::Request::post("/auth")
            .header("content-type", content_type)
            .body(body)
            .unwrap()
    };

    // The body, then the transaction (the XDR) within it.
    assert_eq!(
        answer(post(
            "application/json",
            vec![b' '; MAX_AUTH_BODY_BYTES + 1]
        ))
        .await,
        (
            413,
            format!("request body is larger than {MAX_AUTH_BODY_BYTES} bytes")
        )
    );
    let xdr = "A".repeat(MAX_PARAM_BYTES + 4);
    let json = serde_json::json!({ "transaction": xdr })
        .to_string()
        .into_bytes();
    assert_eq!(
        answer(post("application/json", json)).await,
        (
            400,
            format!("'transaction' is longer than {MAX_PARAM_BYTES} bytes")
        )
    );
    // Under the parameter bound but not a challenge: refused by the XDR decoder, not a panic.
    let form = format!("transaction={}", "A".repeat(MAX_PARAM_BYTES - 4)).into_bytes();
    let (status, error) = answer(post("application/x-www-form-urlencoded", form)).await;
    assert_eq!(status, 400);
    assert!(error.contains("not a valid base64-encoded XDR"), "{error}");

    // GET /auth: each query value bounded, then by its own parser.
    let account = client().account_id().to_string();
    let long = "a".repeat(MAX_PARAM_BYTES + 1);
    let domain = format!("{}.example.com", "a".repeat(60));
    for (query, message) in [
        (
            format!("account={long}"),
            format!("'account' is longer than {MAX_PARAM_BYTES} bytes"),
        ),
        (
            format!("account={account}&memo=184467440737095516150"),
            "memo must be an id memo: a decimal unsigned 64-bit integer".to_owned(),
        ),
        (
            format!("account={account}&client_domain={domain}"),
            "client_domain must be at most 64 bytes".to_owned(),
        ),
    ] {
        let get = http::Request::get(format!("/auth?{query}"))
            .body(Vec::new())
            .unwrap();
        let (status, error) = answer(get).await;
        assert_eq!(status, 400, "{query}");
        assert!(error.ends_with(&message), "{query}: {error}");
    }
}
