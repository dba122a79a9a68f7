//! SEP-24 transfer API (`/sep24/info`, `/sep24/fee`, `/sep24/transactions/{deposit,withdraw}/
//! interactive`, `/sep24/transaction(s)`): Lambda glue around [`mooring::sep24::Transfer`], with
//! the anchor's integration (`anchor_integrations`) as the deposit, withdrawal and fee integration. The handler is
//! public so the local gateway and tests can call it; tests build the service over in-memory
//! adapters.

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::auth::AuthConfig;
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Sep24Config, Source};
use mooring::integrations::{DepositIntegration, FeeIntegration, WithdrawalIntegration};
use mooring::sep24::{routes, Transfer, TransferSettings};
use mooring::startup::StartupError;
use mooring::store::{CustomerStore, QuoteStore, TransactionStore};

/// The service over a store of transactions and customers (`S`; the integration keeps the
/// SEP-9 fields a wallet sends on the user's customer).
pub type Service<S> = Transfer<Integration<S>, S>;

/// The adapters the service runs on: DynamoDB in Lambda, memory in tests.
pub struct Ports<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
}

/// Reads configuration (once per cold start) and builds the service. The function verifies
/// SEP-10 tokens and keys the interactive links with `JWT_SECRET`; it never gets the signing
/// seed.
pub fn service<S>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S>,
) -> Result<Service<S>, StartupError>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Integration<S>: DepositIntegration + WithdrawalIntegration + FeeIntegration,
{
    let auth = AuthConfig::from_source(settings, anchor)?;
    let sep24 = Sep24Config::from_source(settings)?;
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Transfer::new(
        TransferSettings {
            anchor: anchor.clone(),
            sep24,
            auth,
        },
        integration,
        ports.store,
        ports.clock,
    ))
}

pub async fn handle<S>(service: &Service<S>, request: Request) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + QuoteStore + TransactionStore,
    Integration<S>: DepositIntegration + WithdrawalIntegration + FeeIntegration,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
