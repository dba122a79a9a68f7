//! Outgoing Stellar transactions (`mooring::stellar::payment`) through the Horizon port:
//!
//! * against [`InMemoryHorizon`], the in-memory ledger the workers' unit tests use: payments,
//!   account creation, claimable balances, listing with cursors, duplicate submissions, the 504
//!   and rejection switches;
//! * against the local ledger (`infra/ledger`, a Horizon-compatible server on the Python
//!   stellar-sdk) through [`HttpHorizon`]: the same flows over real HTTP and an independent
//!   implementation's validation. It needs `.venv` (tests/run.sh makes it); without it the test
//!   is skipped, except under CI.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mooring::horizon::{
    Horizon, HttpHorizon, InMemoryHorizon, PaymentKind, Submission, SubmitFault,
};
use mooring::stellar::{
    build_signed, claimable_balance_id, encode_envelope, sign_hash, transaction_hash, xdr,
    AccountId, Amount, Asset, Keypair, Memo, MuxedAccount, Network, Outgoing, PaymentSpec,
    SignedTransaction,
};

fn amount(s: &str) -> Amount {
    s.parse().unwrap()
}

fn key(n: u8) -> Keypair {
    Keypair::from_seed_bytes([n; 32])
}

struct Anchor {
    channel: Keypair,
    distribution: Keypair,
    issuer: Keypair,
    usdc: Asset,
}

impl Anchor {
    fn new() -> Self {
        let issuer = key(30);
        Anchor {
            channel: key(10),
            distribution: key(20),
            usdc: Asset::credit("USDC", issuer.account_id()).unwrap(),
            issuer,
        }
    }

    fn spec(&self, sequence: i64, memo: Memo, operations: Vec<Outgoing>) -> PaymentSpec {
        PaymentSpec {
            source: self.channel.account_id(),
            sequence,
            fee_per_op: 100,
            time_bounds: (0, 0),
            memo,
            operation_source: self.distribution.account_id(),
            operations,
        }
    }

    fn sign(&self, spec: &PaymentSpec, network: &Network) -> SignedTransaction {
        build_signed(spec, network, &[&self.channel, &self.distribution]).unwrap()
    }
}

async fn next_sequence<H: Horizon>(horizon: &H, account: &AccountId) -> i64 {
    horizon.account(account).await.unwrap().unwrap().sequence + 1
}

/// An in-memory ledger with the anchor's accounts: the distribution account trusts USDC and
/// holds 1000 of it.
async fn memory_ledger(anchor: &Anchor) -> InMemoryHorizon {
    let horizon = InMemoryHorizon::default();
    horizon.set_now(1_700_000_000);
    for kp in [&anchor.channel, &anchor.distribution, &anchor.issuer] {
        horizon.fund(kp.account_id(), amount("100"));
    }
    let distribution = anchor.distribution.account_id();
    horizon.add_trustline(&distribution, &anchor.usdc, amount("1000000"), true);
    // The issuer pays the distribution account (the issuer is its own channel here).
    let issue = PaymentSpec {
        source: anchor.issuer.account_id(),
        sequence: (1i64 << 32) + 1,
        fee_per_op: 100,
        time_bounds: (0, 0),
        memo: Memo::None,
        operation_source: anchor.issuer.account_id(),
        operations: vec![Outgoing::Payment {
            destination: distribution.into(),
            asset: anchor.usdc.clone(),
            amount: amount("1000"),
        }],
    };
    let signed = build_signed(&issue, horizon.network(), &[&anchor.issuer]).unwrap();
    assert!(matches!(
        horizon.submit(&signed.envelope_xdr).await,
        Ok(Submission::Applied { .. })
    ));
    horizon
}

#[tokio::test]
async fn in_memory_ledger_applies_payments_once_and_lists_them() {
    let anchor = Anchor::new();
    let horizon = memory_ledger(&anchor).await;
    let network = horizon.network().clone();
    let user = key(40);
    let distribution = anchor.distribution.account_id();
    let channel = anchor.channel.account_id();

    // No account yet: create it (XLM), no trustline: the USDC payment fails as op_no_trust.
    assert!(horizon.account(&user.account_id()).await.unwrap().is_none());
    let create = anchor.sign(
        &anchor.spec(
            next_sequence(&horizon, &channel).await,
            Memo::Id(1),
            vec![Outgoing::CreateAccount {
                destination: user.account_id(),
                starting_balance: amount("2"),
            }],
        ),
        &network,
    );
    let Submission::Applied { hash, .. } = horizon.submit(&create.envelope_xdr).await.unwrap()
    else {
        panic!("create_account should apply")
    };
    assert_eq!(hash, create.hash_hex);
    let pay = |sequence, to: MuxedAccount| {
        anchor.sign(
            &anchor.spec(
                sequence,
                Memo::Text("deposit 2".into()),
                vec![Outgoing::Payment {
                    destination: to,
                    asset: anchor.usdc.clone(),
                    amount: amount("12.5"),
                }],
            ),
            &network,
        )
    };
    let sequence = next_sequence(&horizon, &channel).await;
    let no_trust = pay(sequence, MuxedAccount::new(user.account_id(), Some(77)));
    assert_eq!(
        horizon.submit(&no_trust.envelope_xdr).await.unwrap(),
        Submission::Rejected {
            transaction: "tx_failed".into(),
            operations: vec!["op_no_trust".into()],
        }
    );
    // A failed transaction is in the ledger: the sequence number is used, the fee charged.
    let failed = horizon
        .transaction(&no_trust.hash_hex)
        .await
        .unwrap()
        .unwrap();
    assert!(!failed.successful);
    assert_eq!(next_sequence(&horizon, &channel).await, sequence + 1);

    // The wallet adds the trustline; the same payment with a fresh sequence lands.
    horizon.add_trustline(&user.account_id(), &anchor.usdc, amount("1000"), true);
    let paid = pay(sequence + 1, MuxedAccount::new(user.account_id(), Some(77)));
    let Submission::Applied { ledger, .. } = horizon.submit(&paid.envelope_xdr).await.unwrap()
    else {
        panic!("the payment should apply")
    };
    // Resubmitting the same envelope answers the same, and pays nothing more.
    assert_eq!(
        horizon.submit(&paid.envelope_xdr).await.unwrap(),
        Submission::Applied {
            hash: paid.hash_hex.clone(),
            ledger
        }
    );
    assert_eq!(
        horizon.balance(&user.account_id(), &anchor.usdc),
        Some(amount("12.5"))
    );
    assert_eq!(
        horizon.balance(&distribution, &anchor.usdc),
        Some(amount("987.5"))
    );
    // The channel paid the fees; the distribution account the funds.
    assert_eq!(
        horizon.balance(&channel, &Asset::Native),
        Some(amount("99.9999700"))
    );

    // Listing: the user's payments, oldest first, resumable by cursor.
    let all = horizon
        .payments(&user.account_id(), None, 200)
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0].kind, PaymentKind::CreateAccount);
    assert_eq!(all[0].from, Some(distribution));
    assert_eq!(all[0].memo, Memo::Id(1));
    let usdc = &all[1];
    assert_eq!(usdc.kind, PaymentKind::Payment);
    assert_eq!(usdc.to, Some(user.account_id()));
    assert_eq!(usdc.to_muxed_id, Some(77));
    assert_eq!(usdc.asset, Some(anchor.usdc.clone()));
    assert_eq!(usdc.amount, Some(amount("12.5")));
    assert_eq!(usdc.memo, Memo::Text("deposit 2".into()));
    assert_eq!(usdc.transaction_hash, paid.hash_hex);
    let after_first = horizon
        .payments(&user.account_id(), Some(&all[0].paging_token), 200)
        .await
        .unwrap();
    assert_eq!(after_first, all[1..]);
    let one = horizon.payments(&user.account_id(), None, 1).await.unwrap();
    assert_eq!(one, all[..1]);
    assert_eq!(
        horizon
            .latest_payment_cursor(&user.account_id())
            .await
            .unwrap(),
        Some(usdc.paging_token.clone())
    );
    let nobody = key(99).account_id();
    assert_eq!(horizon.latest_payment_cursor(&nobody).await.unwrap(), None);
    assert!(horizon
        .payments(&nobody, None, 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn in_memory_ledger_timeouts_rejections_and_claimable_balances() {
    let anchor = Anchor::new();
    let horizon = memory_ledger(&anchor).await;
    let network = horizon.network().clone();
    let user = key(41);
    let channel = anchor.channel.account_id();
    horizon.fund(user.account_id(), amount("5"));

    // 504 after applying: Unknown, yet the transaction is there; resubmitting does not pay twice.
    horizon.time_out_next_submission();
    let sequence = next_sequence(&horizon, &channel).await;
    let signed = anchor.sign(
        &anchor.spec(
            sequence,
            Memo::Id(5),
            vec![Outgoing::Payment {
                destination: user.account_id().into(),
                asset: Asset::Native,
                amount: amount("1"),
            }],
        ),
        &network,
    );
    assert_eq!(
        horizon.submit(&signed.envelope_xdr).await.unwrap(),
        Submission::Unknown
    );
    assert!(
        horizon
            .transaction(&signed.hash_hex)
            .await
            .unwrap()
            .unwrap()
            .successful
    );
    assert!(matches!(
        horizon.submit(&signed.envelope_xdr).await.unwrap(),
        Submission::Applied { .. }
    ));
    assert_eq!(
        horizon.balance(&user.account_id(), &Asset::Native),
        Some(amount("6"))
    );

    // Lost on the way: Unknown and nothing landed.
    horizon.push_submit_fault(SubmitFault::TimeoutWithoutApplying);
    let lost = anchor.sign(
        &anchor.spec(
            sequence + 1,
            Memo::None,
            vec![Outgoing::Payment {
                destination: user.account_id().into(),
                asset: Asset::Native,
                amount: amount("1"),
            }],
        ),
        &network,
    );
    assert_eq!(
        horizon.submit(&lost.envelope_xdr).await.unwrap(),
        Submission::Unknown
    );
    assert_eq!(horizon.transaction(&lost.hash_hex).await.unwrap(), None);

    // A refusal switch, then the real checks: bad sequence, bad auth, too late.
    horizon.reject_next_submission("tx_insufficient_fee", &[]);
    assert_eq!(
        horizon.submit(&lost.envelope_xdr).await.unwrap(),
        Submission::Rejected {
            transaction: "tx_insufficient_fee".into(),
            operations: vec![]
        }
    );
    let stale = anchor.sign(
        &anchor.spec(sequence, Memo::None, lost_ops(&user)),
        &network,
    );
    assert_rejected(&horizon, &stale.envelope_xdr, "tx_bad_seq").await;
    let channel_only = build_signed(
        &anchor.spec(sequence + 1, Memo::Id(9), lost_ops(&user)),
        &network,
        &[&anchor.channel],
    )
    .unwrap();
    assert_rejected(&horizon, &channel_only.envelope_xdr, "tx_bad_auth").await;
    let extra = build_signed(
        &anchor.spec(sequence + 1, Memo::Id(10), lost_ops(&user)),
        &network,
        &[&anchor.channel, &anchor.distribution, &user],
    )
    .unwrap();
    assert_rejected(&horizon, &extra.envelope_xdr, "tx_bad_auth_extra").await;
    let mut late = anchor.spec(sequence + 1, Memo::Id(11), lost_ops(&user));
    late.time_bounds = (0, 1_600_000_000);
    assert_rejected(
        &horizon,
        &anchor.sign(&late, &network).envelope_xdr,
        "tx_too_late",
    )
    .await;
    let other_network = anchor.sign(
        &anchor.spec(sequence + 1, Memo::Id(12), lost_ops(&user)),
        &Network::public(),
    );
    assert_rejected(&horizon, &other_network.envelope_xdr, "tx_bad_auth").await;
    assert_rejected(&horizon, "AAAA", "tx_malformed").await;

    // A claimable balance for a user without a trustline; its id is the one Horizon shows.
    let sequence = next_sequence(&horizon, &channel).await;
    let balance = anchor.sign(
        &anchor.spec(
            sequence,
            Memo::Id(6),
            vec![Outgoing::ClaimableBalance {
                claimant: user.account_id(),
                asset: anchor.usdc.clone(),
                amount: amount("20"),
            }],
        ),
        &network,
    );
    assert!(matches!(
        horizon.submit(&balance.envelope_xdr).await.unwrap(),
        Submission::Applied { .. }
    ));
    let balances = horizon.claimable_balances();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0].id, claimable_balance_id(&channel, sequence, 0));
    assert_eq!(balances[0].claimants, vec![user.account_id()]);
    assert_eq!(balances[0].amount, amount("20"));
    assert_eq!(
        horizon.balance(&anchor.distribution.account_id(), &anchor.usdc),
        Some(amount("980"))
    );

    // Fees and availability.
    assert_eq!(horizon.base_fee().await.unwrap(), 100);
    horizon.set_base_fee(300);
    assert_eq!(horizon.base_fee().await.unwrap(), 300);
    assert_rejected(
        &horizon,
        &stale_fee(&anchor, &horizon, &user).await,
        "tx_insufficient_fee",
    )
    .await;
    horizon.set_unavailable(true);
    assert!(horizon.submit(&balance.envelope_xdr).await.is_err());
    assert!(horizon.payments(&channel, None, 1).await.is_err());
}

fn lost_ops(user: &Keypair) -> Vec<Outgoing> {
    vec![Outgoing::Payment {
        destination: user.account_id().into(),
        asset: Asset::Native,
        amount: amount("1"),
    }]
}

async fn stale_fee(anchor: &Anchor, horizon: &InMemoryHorizon, user: &Keypair) -> String {
    let sequence = next_sequence(horizon, &anchor.channel.account_id()).await;
    anchor
        .sign(
            &anchor.spec(sequence, Memo::None, lost_ops(user)),
            horizon.network(),
        )
        .envelope_xdr
}

async fn assert_rejected<H: Horizon>(horizon: &H, envelope: &str, code: &str) {
    match horizon.submit(envelope).await.unwrap() {
        Submission::Rejected { transaction, .. } => assert_eq!(transaction, code),
        other => panic!("expected {code}, got {other:?}"),
    }
}

// --- against the local ledger ---------------------------------------------------------------

const STANDALONE: &str = "Standalone Network ; February 2017";

/// `python -m infra.ledger` on a free port, stopped (by its pid) when dropped.
struct LocalLedger {
    child: Child,
    url: String,
    state_dir: PathBuf,
}

impl LocalLedger {
    fn start() -> Option<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join(".venv/bin/python");
        if !python.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but .venv is missing: run tests/run.sh"
            );
            eprintln!("skipped: no .venv with the local ledger (tests/run.sh makes it)");
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let state_dir =
            std::env::temp_dir().join(format!("mooring-payments-{}-{nanos}", std::process::id()));
        let mut child = Command::new(python)
            .current_dir(&root)
            .args([
                "-m",
                "infra.ledger",
                "--port",
                "0",
                "--close-interval",
                "0.1",
            ])
            .arg("--state-dir")
            .arg(&state_dir)
            .args(["--network-passphrase", STANDALONE])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the local ledger");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("ledger listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the local ledger did not start");
        Some(LocalLedger {
            child,
            url,
            state_dir,
        })
    }

    async fn friendbot(&self, account: &AccountId) {
        let response = reqwest::get(format!("{}/friendbot?addr={account}", self.url))
            .await
            .unwrap();
        assert!(response.status().is_success(), "friendbot {account}");
    }

    async fn arm(&self, fault: &str) {
        let response = reqwest::Client::new()
            .post(format!("{}/_test/faults", self.url))
            .body(format!("{{\"{fault}\": 1}}"))
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    }
}

impl Drop for LocalLedger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}

/// A ChangeTrust from `account` (not an operation the anchor sends, so built here by hand).
async fn trust<H: Horizon>(horizon: &H, network: &Network, account: &Keypair, asset: &Asset) {
    let xdr::Asset::CreditAlphanum4(line) = asset.to_xdr() else {
        panic!("a 4-letter asset")
    };
    let tx = xdr::Transaction {
        source_account: MuxedAccount::from(account.account_id()).to_xdr(),
        fee: 100,
        seq_num: xdr::SequenceNumber(next_sequence(horizon, &account.account_id()).await),
        cond: xdr::Preconditions::None,
        memo: xdr::Memo::None,
        operations: vec![xdr::Operation {
            source_account: None,
            body: xdr::OperationBody::ChangeTrust(xdr::ChangeTrustOp {
                line: xdr::ChangeTrustAsset::CreditAlphanum4(line),
                limit: i64::MAX,
            }),
        }]
        .try_into()
        .unwrap(),
        ext: xdr::TransactionExt::V0,
    };
    let hash = transaction_hash(&tx, network).unwrap();
    let envelope = xdr::TransactionEnvelope::Tx(xdr::TransactionV1Envelope {
        tx,
        signatures: vec![sign_hash(account, &hash)].try_into().unwrap(),
    });
    let submitted = horizon
        .submit(&encode_envelope(&envelope).unwrap())
        .await
        .unwrap();
    assert!(
        matches!(submitted, Submission::Applied { .. }),
        "{submitted:?}"
    );
}

#[tokio::test]
async fn http_horizon_against_the_local_ledger() {
    let Some(ledger) = LocalLedger::start() else {
        return;
    };
    let network = Network::new(STANDALONE);
    let horizon = HttpHorizon::new(&ledger.url).unwrap();
    let anchor = Anchor::new();
    let user = key(42);
    let channel = anchor.channel.account_id();
    for kp in [&anchor.channel, &anchor.distribution, &anchor.issuer] {
        ledger.friendbot(&kp.account_id()).await;
    }
    assert!(horizon.account(&user.account_id()).await.unwrap().is_none());
    assert!(horizon
        .payments(&user.account_id(), None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(horizon.base_fee().await.unwrap(), 100);

    // Issue USDC to the distribution account.
    trust(&horizon, &network, &anchor.distribution, &anchor.usdc).await;
    let issue = build_signed(
        &PaymentSpec {
            source: anchor.issuer.account_id(),
            sequence: next_sequence(&horizon, &anchor.issuer.account_id()).await,
            fee_per_op: 100,
            time_bounds: (0, 0),
            memo: Memo::None,
            operation_source: anchor.issuer.account_id(),
            operations: vec![Outgoing::Payment {
                destination: anchor.distribution.account_id().into(),
                asset: anchor.usdc.clone(),
                amount: amount("1000"),
            }],
        },
        &network,
        &[&anchor.issuer],
    )
    .unwrap();
    assert!(matches!(
        horizon.submit(&issue.envelope_xdr).await.unwrap(),
        Submission::Applied { .. }
    ));

    // Create the user's account; a USDC payment without trustline fails with op_no_trust.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut create = anchor.spec(
        next_sequence(&horizon, &channel).await,
        Memo::Id(7),
        vec![Outgoing::CreateAccount {
            destination: user.account_id(),
            starting_balance: amount("3"),
        }],
    );
    create.time_bounds = (now - 60, now + 300);
    let created = anchor.sign(&create, &network);
    let Submission::Applied { hash, ledger: seq } =
        horizon.submit(&created.envelope_xdr).await.unwrap()
    else {
        panic!("create_account should apply")
    };
    assert_eq!(hash, created.hash_hex);
    let record = horizon
        .transaction(&created.hash_hex)
        .await
        .unwrap()
        .unwrap();
    assert!(record.successful);
    assert_eq!(record.ledger, seq);
    assert_eq!(horizon.transaction(&"0".repeat(64)).await.unwrap(), None);

    let usdc_payment = |sequence, memo| {
        anchor.sign(
            &anchor.spec(
                sequence,
                memo,
                vec![Outgoing::Payment {
                    destination: MuxedAccount::new(user.account_id(), Some(5)),
                    asset: anchor.usdc.clone(),
                    amount: amount("25.0000001"),
                }],
            ),
            &network,
        )
    };
    let sequence = next_sequence(&horizon, &channel).await;
    let refused = usdc_payment(sequence, Memo::Hash([1u8; 32]));
    assert_eq!(
        horizon.submit(&refused.envelope_xdr).await.unwrap(),
        Submission::Rejected {
            transaction: "tx_failed".into(),
            operations: vec!["op_no_trust".into()]
        }
    );
    let stale = usdc_payment(sequence, Memo::Hash([2u8; 32]));
    assert_rejected(&horizon, &stale.envelope_xdr, "tx_bad_seq").await;

    // Trustline added; the ledger answers 504 but applies: Unknown, then found by hash, and the
    // same envelope resubmitted is answered without a second payment.
    trust(&horizon, &network, &user, &anchor.usdc).await;
    ledger.arm("submit_timeout_next").await;
    let paid = usdc_payment(sequence + 1, Memo::Hash([3u8; 32]));
    assert_eq!(
        horizon.submit(&paid.envelope_xdr).await.unwrap(),
        Submission::Unknown
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(tx) = horizon.transaction(&paid.hash_hex).await.unwrap() {
            assert!(tx.successful);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the timed-out payment never landed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        horizon.submit(&paid.envelope_xdr).await.unwrap(),
        Submission::Applied { hash, .. } if hash == paid.hash_hex
    ));
    let account = horizon.account(&user.account_id()).await.unwrap().unwrap();
    let line = account.balance(&anchor.usdc).unwrap();
    assert_eq!(line.balance, amount("25.0000001"));
    assert!(line.is_authorized);
    assert_eq!(line.limit, Some(Amount::from_stroops(i64::MAX)));

    // A claimable balance: the id the ledger shows is ours.
    let sequence = next_sequence(&horizon, &channel).await;
    let claimable = anchor.sign(
        &anchor.spec(
            sequence,
            Memo::Text("cb".into()),
            vec![Outgoing::ClaimableBalance {
                claimant: user.account_id(),
                asset: anchor.usdc.clone(),
                amount: amount("4"),
            }],
        ),
        &network,
    );
    assert!(matches!(
        horizon.submit(&claimable.envelope_xdr).await.unwrap(),
        Submission::Applied { .. }
    ));
    let id = claimable_balance_id(&channel, sequence, 0);
    let found = reqwest::get(format!("{}/claimable_balances/{id}", ledger.url))
        .await
        .unwrap();
    assert_eq!(found.status(), 200, "claimable balance {id}");

    // The user's payments, as the watcher reads them.
    let payments = horizon
        .payments(&user.account_id(), None, 200)
        .await
        .unwrap();
    let kinds: Vec<&PaymentKind> = payments.iter().map(|p| &p.kind).collect();
    assert_eq!(kinds, [&PaymentKind::CreateAccount, &PaymentKind::Payment]);
    let create = &payments[0];
    assert_eq!(create.from, Some(anchor.distribution.account_id()));
    assert_eq!(create.amount, Some(amount("3")));
    assert_eq!(create.memo, Memo::Id(7));
    let payment = &payments[1];
    assert!(payment.successful && !payment.fee_bump);
    assert_eq!(payment.transaction_hash, paid.hash_hex);
    assert_eq!(payment.to, Some(user.account_id()));
    assert_eq!(payment.to_muxed_id, Some(5));
    assert_eq!(payment.asset, Some(anchor.usdc.clone()));
    assert_eq!(payment.amount, Some(amount("25.0000001")));
    assert_eq!(payment.memo, Memo::Hash([3u8; 32]));
    assert_eq!(
        horizon
            .payments(&user.account_id(), Some(&create.paging_token), 200)
            .await
            .unwrap(),
        payments[1..]
    );
    assert_eq!(
        horizon.payments(&user.account_id(), None, 1).await.unwrap(),
        payments[..1]
    );
    assert_eq!(
        horizon
            .latest_payment_cursor(&user.account_id())
            .await
            .unwrap(),
        Some(payment.paging_token.clone())
    );
    assert_eq!(
        horizon
            .latest_payment_cursor(&key(99).account_id())
            .await
            .unwrap(),
        None
    );
}
