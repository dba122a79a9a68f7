//! The KMS adapter of the signer seam, against the emulator that `tests/run.sh` starts (its KMS
//! creates `ECC_NIST_EDWARDS25519` keys and signs with `ED25519_SHA_512`, as AWS KMS does).
//! Without the emulator's variable the test is skipped, except under CI.
#![cfg(feature = "kms")]

use aws_config::Region;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use mooring::stellar::signer::kms::KmsSigner;
use mooring::stellar::{
    build_signed_by, decode_envelope, transaction_hash, verify_decorated, xdr, Amount, Asset,
    Keypair, Memo, Network, Outgoing, PaymentSpec, Signer, SignerError,
};

fn emulator() -> Option<String> {
    match std::env::var("MOORING_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => Some(endpoint),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but MOORING_TEST_DYNAMODB_ENDPOINT is not: run tests/run.sh")
        }
        _ => {
            eprintln!("skipped: no KMS emulator (tests/run.sh provides one)");
            None
        }
    }
}

async fn client(endpoint: &str) -> aws_sdk_kms::Client {
    let sdk = mooring::aws::config_loader()
        .expect("AWS settings")
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    mooring::stellar::signer::kms::client(&sdk)
}

async fn create_key(client: &aws_sdk_kms::Client, spec: KeySpec) -> String {
    let key = client
        .create_key()
        .key_spec(spec)
        .key_usage(KeyUsageType::SignVerify)
        .description("mooring kms_signer test")
        .send()
        .await
        .expect("CreateKey (ministack needs the cryptography package)");
    key.key_metadata()
        .and_then(|m| m.arn())
        .expect("key ARN")
        .to_owned()
}

#[tokio::test]
async fn a_kms_key_is_a_stellar_account_whose_signatures_verify() {
    let Some(endpoint) = emulator() else { return };
    let client = client(&endpoint).await;
    let arn = create_key(&client, KeySpec::EccNistEdwards25519).await;
    let distribution = KmsSigner::connect(client.clone(), &arn)
        .await
        .expect("connect");
    assert!(distribution.account_id().to_string().starts_with('G'));
    assert!(format!("{distribution:?}").contains(&arn));

    // A deposit payment whose operations come from the KMS account, its fee and sequence from
    // a local channel key: both signatures verify over the transaction's hash.
    let channel = Keypair::from_seed_bytes([4; 32]);
    let issuer = Keypair::from_seed_bytes([5; 32]).account_id();
    let user = Keypair::from_seed_bytes([6; 32]).account_id();
    let network = Network::new(Network::TESTNET_PASSPHRASE);
    let spec = PaymentSpec {
        source: channel.account_id(),
        sequence: 42,
        fee_per_op: 100,
        time_bounds: (0, 1_900_000_000),
        memo: Memo::Id(7),
        operation_source: distribution.account_id(),
        operations: vec![Outgoing::Payment {
            destination: user.into(),
            asset: Asset::credit("USDC", issuer).expect("asset"),
            amount: Amount::from_stroops(12_345_678),
        }],
    };
    let signers: [&dyn Signer; 2] = [&channel, &distribution];
    let signed = build_signed_by(&spec, &network, &signers)
        .await
        .expect("signed through KMS");
    let xdr::TransactionEnvelope::Tx(envelope) =
        decode_envelope(&signed.envelope_xdr).expect("decodes")
    else {
        panic!("a v1 envelope");
    };
    let hash = transaction_hash(&envelope.tx, &network).expect("hash");
    assert_eq!(hash, signed.hash);
    assert_eq!(envelope.signatures.len(), 2);
    assert!(verify_decorated(
        &hash,
        &envelope.signatures[0],
        &channel.account_id()
    ));
    assert!(verify_decorated(
        &hash,
        &envelope.signatures[1],
        &distribution.account_id()
    ));

    // The same key connected again is the same account (GetPublicKey is stable).
    let again = KmsSigner::connect(client.clone(), &arn)
        .await
        .expect("again");
    assert_eq!(again.account_id(), distribution.account_id());
}

#[tokio::test]
async fn keys_that_cannot_sign_for_stellar_are_refused_at_start() {
    let Some(endpoint) = emulator() else { return };
    let client = client(&endpoint).await;
    let p256 = create_key(&client, KeySpec::EccNistP256).await;
    assert!(matches!(
        KmsSigner::connect(client.clone(), &p256).await,
        Err(SignerError::InvalidKey(message)) if message.contains("ECC_NIST_EDWARDS25519")
    ));
    let missing = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000";
    assert!(matches!(
        KmsSigner::connect(client, missing).await,
        Err(SignerError::Unavailable(message)) if message.contains("GetPublicKey")
    ));
}

/// The SEP-10 key in KMS: `Sep10Config::connect` reads its public key (which must be
/// `SIGNING_KEY`), challenges are signed through KMS and verify with the public key, and a
/// callback is signed up to KMS's 4096-byte limit and refused beyond it.
#[tokio::test]
async fn a_sep10_key_in_kms_signs_challenges_and_callbacks_up_to_4096_bytes() {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use mooring::clock::FixedClock;
    use mooring::config::{AnchorConfig, Sep10Config};
    use mooring::horizon::InMemoryHorizon;
    use mooring::sep10::{ChallengeRequest, InMemoryClientDomains, Ports, WebAuth};
    use mooring::store::InMemoryStore;
    use mooring::transfer::callback::sign_callback_with;

    let Some(endpoint) = emulator() else { return };
    let client = client(&endpoint).await;
    let arn = create_key(&client, KeySpec::EccNistEdwards25519).await;
    let account = KmsSigner::connect(client.clone(), &arn)
        .await
        .expect("connect")
        .account_id();
    let settings = |signing_key: String| -> BTreeMap<String, String> {
        [
            ("HOME_DOMAIN", "anchor.example.com".to_owned()),
            ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE.to_owned()),
            ("SIGNING_KEY", signing_key),
            ("SIGNING_KMS_KEY_ID", arn.clone()),
            (
                "JWT_SECRET",
                "a-jwt-secret-of-at-least-32-chars!!".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    };
    let connect = |env: BTreeMap<String, String>| {
        let client = client.clone();
        async move {
            let anchor = AnchorConfig::from_source(&env).expect("anchor");
            let sep10 =
                Sep10Config::connect(&env, &anchor, |id| KmsSigner::connect_shared(client, id))
                    .await;
            (anchor, sep10)
        }
    };
    // A SIGNING_KEY that is not the KMS key's: refused at start.
    let other = Keypair::from_seed_bytes([8; 32]).account_id().to_string();
    let (_, refused) = connect(settings(other)).await;
    assert!(refused
        .expect_err("not SIGNING_KEY")
        .to_string()
        .contains("which is not SIGNING_KEY"));

    let (anchor, sep10) = connect(settings(account.to_string())).await;
    let sep10 = sep10.expect("the SEP-10 key in KMS");
    let signer = sep10.signer.clone();
    let auth = WebAuth::new(
        anchor,
        sep10,
        Ports {
            horizon: InMemoryHorizon::default(),
            client_domains: InMemoryClientDomains::default(),
            challenges: InMemoryStore::default(),
            clock: Arc::new(FixedClock::at(1_700_000_000)),
        },
    );
    let wallet = Keypair::from_seed_bytes([9; 32]);
    let challenge = auth
        .challenge(ChallengeRequest {
            account: Some(&wallet.account_id().to_string()),
            ..Default::default()
        })
        .await
        .expect("a challenge signed in KMS");
    let xdr::TransactionEnvelope::Tx(mut envelope) =
        decode_envelope(&challenge.transaction).expect("decodes")
    else {
        panic!("a v1 envelope");
    };
    let network = Network::testnet();
    let hash = transaction_hash(&envelope.tx, &network).expect("hash");
    assert!(verify_decorated(&hash, &envelope.signatures[0], &account));
    // The wallet signs; the server checks its own KMS signature with the public key only.
    let mut signatures = envelope.signatures.to_vec();
    signatures.push(mooring::stellar::sign_hash(&wallet, &hash));
    envelope.signatures = signatures.try_into().expect("two signatures");
    let signed = mooring::stellar::encode_envelope(&xdr::TransactionEnvelope::Tx(envelope))
        .expect("encodes");
    auth.token(&signed).await.expect("a token");

    // Callbacks: `<t>.<host>.<body>` of exactly 4096 bytes is signed, one byte more is not.
    let url = url::Url::parse("https://wallet.example/cb").expect("url");
    let overhead = "1700000000.wallet.example.".len();
    let body = "x".repeat(4096 - overhead);
    let callback = sign_callback_with(signer.as_ref(), url.clone(), body.clone(), 1_700_000_000)
        .await
        .expect("signed in KMS");
    let s = callback.signature.split_once(", s=").expect("header").1;
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s).expect("base64");
    assert!(account.verify(
        format!("1700000000.wallet.example.{body}").as_bytes(),
        &signature
    ));
    assert_eq!(
        sign_callback_with(signer.as_ref(), url, body + "x", 1_700_000_000).await,
        Err(SignerError::MessageTooLong {
            len: 4097,
            max: 4096
        })
    );
}
