//! `POST /auth`: the ordered verification checklist of SEP-10, then the JWT.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Serialize;
use stellar_xdr as xdr;

use super::{Claims, ClientDomainResolver, Sep10Error, WebAuth, CLOCK_SKEW_SECONDS};
use crate::horizon::{AccountRecord, Horizon};
use crate::stellar::{
    decode_envelope, transaction_hash, verify_decorated, verify_own_decorated, AccountId,
    MuxedAccount,
};
use crate::store::ChallengeStore;
use crate::time::Timestamp;

/// `POST /auth`'s 200 body.
#[derive(Debug, Clone, Serialize)]
pub struct Token {
    pub token: String,
}

/// What a structurally valid challenge says, before signatures are checked.
struct ChallengeContent {
    /// The server key the challenge names as its source: the current one, or during a rotation
    /// the previous one.
    server: AccountId,
    client: MuxedAccount,
    max_time: u64,
    memo: Option<u64>,
    home_domain: String,
    client_domain: Option<(String, AccountId)>,
}

fn reject(message: impl Into<String>) -> Sep10Error {
    Sep10Error::InvalidChallenge(message.into())
}

impl<H: Horizon, C: ClientDomainResolver, R: ChallengeStore> WebAuth<H, C, R> {
    /// Verifies a signed challenge and issues a JWT for its client account, once per challenge.
    pub async fn token(&self, transaction: &str) -> Result<Token, Sep10Error> {
        let (claims, expires) = self.verify_with_expiry(transaction).await?;
        // Recorded only once everything else holds, so a refused attempt does not burn the
        // challenge; the conditional write lets one of two concurrent replays through.
        if !self.challenges.consume(&claims.jti, expires).await? {
            return Err(reject("challenge has already been used"));
        }
        let token = self
            .jwt
            .issue(&claims)
            .map_err(|e| Sep10Error::Internal(e.to_string()))?;
        Ok(Token { token })
    }

    /// The checklist of SEP-10 §"Verification", in order; returns the JWT claims to issue.
    /// (Replay is checked by [`WebAuth::token`].)
    pub async fn verify(&self, transaction: &str) -> Result<Claims, Sep10Error> {
        self.verify_with_expiry(transaction)
            .await
            .map(|(claims, _)| claims)
    }

    /// The claims, and when the challenge expires (its maxTime).
    async fn verify_with_expiry(
        &self,
        transaction: &str,
    ) -> Result<(Claims, Timestamp), Sep10Error> {
        let envelope = decode_envelope(transaction).map_err(|_| {
            reject("transaction is not a valid base64-encoded XDR transaction envelope")
        })?;
        let xdr::TransactionEnvelope::Tx(envelope) = envelope else {
            return Err(reject(
                "challenge must be a v1 transaction envelope, not fee-bump or v0",
            ));
        };
        let now = self.clock.now();
        let content = self.read_challenge(&envelope.tx, now)?;
        let hash = transaction_hash(&envelope.tx, &self.anchor.network)
            .map_err(|e| Sep10Error::Internal(e.to_string()))?;

        let mut signatures: Vec<&xdr::DecoratedSignature> = envelope.signatures.iter().collect();
        let server = content.server;
        let current = server == self.config.server_key.account_id();
        // The server's signature by a key in this process is told by the key itself, for a
        // fraction of a verification's CPU (`Keypair::is_own_signature`).
        if !take_signature(&mut signatures, |s| {
            if !current {
                return verify_decorated(&hash, s, &server);
            }
            if s.hint.0 != server.hint() {
                return false;
            }
            match self.config.signer.is_own_signature(&hash, &s.signature.0) {
                Some(own) => own,
                None => verify_own_decorated(&hash, s, &self.config.server_key),
            }
        }) {
            return Err(reject("challenge is not signed by this server"));
        }
        if let Some((_, key)) = &content.client_domain {
            if !take_signature(&mut signatures, |s| verify_decorated(&hash, s, key)) {
                return Err(reject(
                    "challenge is not signed by the client domain's SIGNING_KEY",
                ));
            }
        }
        let account = content.client.account;
        match self.horizon.account(&account).await? {
            Some(record) => check_signers(&record, &signatures, &hash, &server)?,
            None => check_master_key(&account, &signatures, &hash)?,
        }

        let subject = match (content.client.id, content.memo) {
            (Some(_), _) => content.client.to_string(),
            (None, Some(memo)) => format!("{account}:{memo}"),
            (None, None) => account.to_string(),
        };
        let claims = Claims {
            iss: self.jwt.issuer().to_owned(),
            sub: subject,
            iat: now,
            exp: now + self.config.jwt_ttl.as_secs(),
            jti: hex::encode(hash),
            client_domain: content.client_domain.map(|(domain, _)| domain),
            home_domain: content.home_domain,
        };
        Ok((claims, Timestamp::from_secs(content.max_time)))
    }

    /// Steps 2-6: source, sequence, time bounds, operations and memo.
    fn read_challenge(
        &self,
        tx: &xdr::Transaction,
        now: u64,
    ) -> Result<ChallengeContent, Sep10Error> {
        // During a rotation, challenges the previous key issued stay valid until its deadline
        // (at most their own time bounds after the rotation).
        let previous = self
            .config
            .signing_previous
            .filter(|previous| now < previous.until)
            .map(|previous| previous.account);
        let Some(server) = [Some(self.config.server_key.account_id()), previous]
            .into_iter()
            .flatten()
            .find(|key| tx.source_account == MuxedAccount::from(*key).to_xdr())
        else {
            return Err(reject(
                "challenge's source account is not this server's signing key",
            ));
        };
        if tx.seq_num.0 != 0 {
            return Err(reject("challenge's sequence number must be 0"));
        }
        let xdr::Preconditions::Time(bounds) = &tx.cond else {
            return Err(reject("challenge must have time bounds"));
        };
        let (min, max) = (bounds.min_time.0, bounds.max_time.0);
        if max == 0 {
            return Err(reject("challenge must have a maximum time"));
        }
        if now.saturating_add(CLOCK_SKEW_SECONDS) < min {
            return Err(reject("challenge is not valid yet"));
        }
        if now > max {
            return Err(reject("challenge has expired"));
        }

        let mut operations = tx.operations.iter();
        let first = operations
            .next()
            .ok_or_else(|| reject("challenge has no operations"))?;
        let DataOp {
            source: client,
            name,
            value,
        } = manage_data(first).ok_or_else(|| {
            reject(
                "challenge's first operation must be a ManageData operation with a source account",
            )
        })?;
        let home_domain = self
            .anchor
            .home_domains
            .iter()
            .find(|d| name == format!("{d} auth").as_bytes())
            .ok_or_else(|| {
                reject("challenge's first operation does not name a home domain of this server")
            })?
            .clone();
        let nonce_ok =
            value.is_some_and(|v| v.len() == 64 && BASE64.decode(v).is_ok_and(|n| n.len() == 48));
        if !nonce_ok {
            return Err(reject(
                "challenge's first operation must carry a 64-byte base64 nonce",
            ));
        }

        let memo = match tx.memo {
            xdr::Memo::None => None,
            xdr::Memo::Id(_) if client.id.is_some() => {
                return Err(reject("challenge has a memo and a muxed client account"))
            }
            xdr::Memo::Id(id) => Some(id),
            _ => return Err(reject("challenge's memo must be an id memo")),
        };

        let mut client_domain = None;
        let mut web_auth_domain_seen = false;
        for op in operations {
            let DataOp { source, name, value } = manage_data(op).ok_or_else(|| {
                reject("every challenge operation must be a ManageData operation with a source account")
            })?;
            if name == b"client_domain" {
                if client_domain.is_some() {
                    return Err(reject(
                        "challenge has more than one client_domain operation",
                    ));
                }
                let domain = value
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .ok_or_else(|| reject("client_domain operation has no domain"))?;
                client_domain = Some((domain.to_owned(), source.account));
                continue;
            }
            if source != MuxedAccount::from(server) {
                return Err(reject(
                    "challenge has an operation whose source is not this server",
                ));
            }
            if name == b"web_auth_domain" {
                if value != Some(self.config.web_auth_domain.as_bytes()) {
                    return Err(reject(
                        "challenge's web_auth_domain does not match this server",
                    ));
                }
                web_auth_domain_seen = true;
            }
        }
        if !web_auth_domain_seen {
            return Err(reject("challenge has no web_auth_domain operation"));
        }
        Ok(ChallengeContent {
            server,
            client,
            max_time: max,
            memo,
            home_domain,
            client_domain,
        })
    }
}

/// A ManageData operation of a challenge.
struct DataOp<'a> {
    source: MuxedAccount,
    name: &'a [u8],
    value: Option<&'a [u8]>,
}

/// The operation as a [`DataOp`]; `None` for any other operation or one without a source.
fn manage_data(op: &xdr::Operation) -> Option<DataOp<'_>> {
    let xdr::OperationBody::ManageData(data) = &op.body else {
        return None;
    };
    Some(DataOp {
        source: MuxedAccount::from_xdr(op.source_account.as_ref()?),
        name: data.data_name.0.as_slice(),
        value: data.data_value.as_ref().map(|v| v.0.as_slice()),
    })
}

/// Removes the first signature `signed_by` accepts from `signatures`; false when there is none.
fn take_signature(
    signatures: &mut Vec<&xdr::DecoratedSignature>,
    signed_by: impl Fn(&xdr::DecoratedSignature) -> bool,
) -> bool {
    match signatures.iter().position(|s| signed_by(s)) {
        Some(i) => {
            signatures.remove(i);
            true
        }
        None => false,
    }
}

/// An existing account: every remaining signature is a distinct signer's, and together they
/// reach the medium threshold (at least 1). The server key never counts.
fn check_signers(
    account: &AccountRecord,
    signatures: &[&xdr::DecoratedSignature],
    hash: &[u8; 32],
    server: &AccountId,
) -> Result<(), Sep10Error> {
    if signatures.is_empty() {
        return Err(reject("challenge is not signed by the client account"));
    }
    let signers: Vec<(AccountId, u32)> = account
        .ed25519_signers()
        .filter(|(key, weight)| *weight > 0 && key != server)
        .collect();
    let mut used = vec![false; signers.len()];
    let mut weight: u32 = 0;
    for signature in signatures {
        let Some(i) = signers
            .iter()
            .position(|(key, _)| verify_decorated(hash, signature, key))
        else {
            return Err(reject("transaction has unrecognized signatures"));
        };
        if used[i] {
            return Err(reject("a signer signed the challenge more than once"));
        }
        used[i] = true;
        weight = weight.saturating_add(signers[i].1);
    }
    let threshold = u32::from(account.thresholds.medium).max(1);
    if weight < threshold {
        return Err(reject(format!(
            "signatures have weight {weight}, below the account's medium threshold {threshold}"
        )));
    }
    Ok(())
}

/// An account not on the ledger: exactly one more signature, by its master key.
fn check_master_key(
    account: &AccountId,
    signatures: &[&xdr::DecoratedSignature],
    hash: &[u8; 32],
) -> Result<(), Sep10Error> {
    match signatures {
        [] => Err(reject("challenge is not signed by the client account")),
        [signature] if verify_decorated(hash, signature, account) => Ok(()),
        [_] => Err(reject("challenge's signature is not the client account's")),
        _ => Err(reject(
            "transaction has unrecognized signatures: the account does not exist, so only its master key may sign",
        )),
    }
}
