//! `GET /auth`: building a challenge transaction exactly as SEP-10 prescribes.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Serialize;
use stellar_xdr as xdr;

use super::{ClientDomainResolver, Sep10Error, WebAuth};
use crate::config::validate_domain;
use crate::horizon::Horizon;
use crate::stellar::{
    encode_envelope, sign_checked, transaction_hash, AccountId, Memo, MuxedAccount, Network, Signer,
};
use crate::store::ChallengeStore;

/// The query of `GET /auth`, as received.
#[derive(Debug, Default, Clone, Copy)]
pub struct ChallengeRequest<'a> {
    pub account: Option<&'a str>,
    pub memo: Option<&'a str>,
    pub home_domain: Option<&'a str>,
    pub client_domain: Option<&'a str>,
}

/// `GET /auth`'s 200 body.
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    pub transaction: String,
    pub network_passphrase: String,
}

impl<H: Horizon, C: ClientDomainResolver, R: ChallengeStore> WebAuth<H, C, R> {
    pub async fn challenge(&self, request: ChallengeRequest<'_>) -> Result<Challenge, Sep10Error> {
        let invalid = |m: String| Sep10Error::InvalidRequest(m);
        let account = request
            .account
            .ok_or_else(|| invalid("'account' is required".into()))?;
        let client: MuxedAccount = account
            .parse()
            .map_err(|e: crate::stellar::KeyError| invalid(format!("account: {e}")))?;
        let memo = match request.memo {
            None => Memo::None,
            Some(_) if client.id.is_some() => {
                return Err(invalid(
                    "memo cannot be used with a muxed (M...) account".into(),
                ))
            }
            Some(memo) => Memo::Id(Memo::parse_id(memo).map_err(|_| {
                invalid("memo must be an id memo: a decimal unsigned 64-bit integer".into())
            })?),
        };
        let home_domain = match request.home_domain {
            None => self.anchor.default_home_domain(),
            Some(domain) => self
                .anchor
                .home_domains
                .iter()
                .find(|d| d.eq_ignore_ascii_case(domain))
                .ok_or_else(|| {
                    invalid(format!(
                        "home_domain '{}' is not served here",
                        truncate(domain)
                    ))
                })?,
        };
        let client_domain = self.client_domain_signer(request.client_domain).await?;

        let mut nonce = [0u8; 48];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| Sep10Error::Internal(format!("CSPRNG: {e}")))?;
        let now = self.clock.now();
        let envelope = build_challenge(&ChallengeSpec {
            server: self.config.signer.as_ref(),
            network: &self.anchor.network,
            client,
            memo,
            home_domain,
            web_auth_domain: &self.config.web_auth_domain,
            client_domain: client_domain
                .as_ref()
                .map(|(domain, key)| (domain.as_str(), *key)),
            nonce,
            min_time: now,
            max_time: now + self.config.challenge_ttl.as_secs(),
        })
        .await?;
        Ok(Challenge {
            transaction: encode_envelope(&envelope)
                .map_err(|e| Sep10Error::Internal(e.to_string()))?,
            network_passphrase: self.anchor.network.passphrase().to_owned(),
        })
    }

    /// The client domain to attest and its SIGNING_KEY, or `None` when it is not verified here.
    async fn client_domain_signer(
        &self,
        requested: Option<&str>,
    ) -> Result<Option<(String, AccountId)>, Sep10Error> {
        let policy = &self.config.client_domain;
        let Some(domain) = requested.map(str::to_ascii_lowercase) else {
            if policy.required {
                return Err(Sep10Error::InvalidRequest(
                    "client_domain is required".into(),
                ));
            }
            return Ok(None);
        };
        validate_domain(&domain)
            .map_err(|e| Sep10Error::InvalidRequest(format!("client_domain: {e}")))?;
        if domain.len() > 64 {
            return Err(Sep10Error::InvalidRequest(
                "client_domain must be at most 64 bytes".into(),
            ));
        }
        if !policy.accepts(&domain) {
            // SEP-10: a server that does not verify a domain ignores the parameter.
            if policy.required {
                return Err(Sep10Error::InvalidRequest(format!(
                    "client_domain '{domain}' is not accepted"
                )));
            }
            return Ok(None);
        }
        let key = self.client_domains.signing_key(&domain).await?;
        Ok(Some((domain, key)))
    }
}

/// Everything a challenge is made of; [`build_challenge`] is deterministic given these.
pub struct ChallengeSpec<'a> {
    /// The SEP-10 key (in this process, or in KMS).
    pub server: &'a dyn Signer,
    pub network: &'a Network,
    pub client: MuxedAccount,
    pub memo: Memo,
    pub home_domain: &'a str,
    pub web_auth_domain: &'a str,
    /// The client domain and its SIGNING_KEY, when the server attests it.
    pub client_domain: Option<(&'a str, AccountId)>,
    /// 48 random bytes; the first operation carries their base64 (64 bytes).
    pub nonce: [u8; 48],
    pub min_time: u64,
    pub max_time: u64,
}

/// Builds and server-signs a challenge: v1 envelope, source = server, sequence 0, time bounds,
/// op 0 `"<home_domain> auth"` from the client, `web_auth_domain` (and `client_domain`) after it.
/// A key service that cannot sign is [`Sep10Error::Signer`] (a 503).
pub async fn build_challenge(
    spec: &ChallengeSpec<'_>,
) -> Result<xdr::TransactionEnvelope, Sep10Error> {
    let server = spec.server.account_id();
    let mut operations = vec![
        manage_data(
            spec.client,
            &format!("{} auth", spec.home_domain),
            BASE64.encode(spec.nonce).as_bytes(),
        )?,
        manage_data(
            server.into(),
            "web_auth_domain",
            spec.web_auth_domain.as_bytes(),
        )?,
    ];
    if let Some((domain, key)) = spec.client_domain {
        operations.push(manage_data(key.into(), "client_domain", domain.as_bytes())?);
    }
    let internal = |what: &str| Sep10Error::Internal(what.to_owned());
    let tx = xdr::Transaction {
        source_account: MuxedAccount::from(server).to_xdr(),
        fee: 100 * operations.len() as u32,
        seq_num: xdr::SequenceNumber(0),
        cond: xdr::Preconditions::Time(xdr::TimeBounds {
            min_time: xdr::TimePoint(spec.min_time),
            max_time: xdr::TimePoint(spec.max_time),
        }),
        memo: spec.memo.to_xdr(),
        operations: operations
            .try_into()
            .map_err(|_| internal("too many operations"))?,
        ext: xdr::TransactionExt::V0,
    };
    let hash =
        transaction_hash(&tx, spec.network).map_err(|e| Sep10Error::Internal(e.to_string()))?;
    let signature = xdr::DecoratedSignature {
        hint: xdr::SignatureHint(server.hint()),
        signature: xdr::Signature(
            sign_checked(spec.server, &hash)
                .await?
                .to_vec()
                .try_into()
                .map_err(|_| internal("signature"))?,
        ),
    };
    Ok(xdr::TransactionEnvelope::Tx(xdr::TransactionV1Envelope {
        tx,
        signatures: vec![signature]
            .try_into()
            .map_err(|_| internal("signatures"))?,
    }))
}

fn manage_data(
    source: MuxedAccount,
    name: &str,
    value: &[u8],
) -> Result<xdr::Operation, Sep10Error> {
    let too_long = |what: &str| Sep10Error::Internal(format!("{what} exceeds 64 bytes"));
    Ok(xdr::Operation {
        source_account: Some(source.to_xdr()),
        body: xdr::OperationBody::ManageData(xdr::ManageDataOp {
            data_name: xdr::String64(
                name.as_bytes()
                    .to_vec()
                    .try_into()
                    .map_err(|_| too_long("data name"))?,
            ),
            data_value: Some(xdr::DataValue(
                value
                    .to_vec()
                    .try_into()
                    .map_err(|_| too_long("data value"))?,
            )),
        }),
    })
}

pub(super) fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}
