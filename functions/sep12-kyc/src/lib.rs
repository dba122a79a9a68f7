//! SEP-12 KYC (`/kyc/customer...`): Lambda glue around [`mooring::sep12`], with the operator's
//! integration (`anchor_integrations`) as the customer integration. The handler is public so the local gateway and tests
//! can call it; tests and the local gateway build the service over in-memory adapters.

use std::convert::Infallible;
use std::sync::Arc;

use anchor_integrations::{register_integrations, Integration};
use lambda_http::{Body, Request, Response};
use mooring::auth::{AuthConfig, Authenticator};
use mooring::clock::Clock;
use mooring::config::{AnchorConfig, Source};
use mooring::queue::Queue;
use mooring::sep12::{routes, Kyc};
use mooring::startup::StartupError;
use mooring::store::files::FileStore;
use mooring::store::{CustomerStore, TransactionStore};

/// The service over a store of customers and transactions (`S`), a file store (`F`) and the
/// outgoing-payments queue (`Q`).
pub type Service<S, F, Q> = Kyc<Integration<S>, S, F, Q>;

/// The adapters the service runs on: DynamoDB (and, later, S3/SQS) in Lambda, memory in tests.
pub struct Ports<S, F, Q> {
    pub store: Arc<S>,
    pub files: Arc<F>,
    pub outgoing: Arc<Q>,
    pub clock: Arc<dyn Clock>,
}

/// Reads configuration (once per cold start) and builds the service. The function verifies
/// SEP-10 tokens (`JWT_SECRET`); it never gets the signing seed.
pub fn service<S, F, Q>(
    settings: &impl Source,
    anchor: &AnchorConfig,
    ports: Ports<S, F, Q>,
) -> Result<Service<S, F, Q>, StartupError>
where
    S: CustomerStore + TransactionStore,
    F: FileStore,
    Q: Queue,
{
    let auth = AuthConfig::from_source(settings, anchor)?;
    let integration = register_integrations(
        settings,
        anchor_integrations::Ports::new(&ports.store, &ports.clock),
    )?;
    Ok(Kyc::new(
        integration,
        Authenticator::new(&auth, ports.clock.clone()),
        ports.store,
        ports.files,
        ports.outgoing,
        ports.clock,
    )
    // A complete customer moves its SEP-6 transactions on (the KYC loop).
    .with_transfer_assets(anchor.assets.clone())
    .with_expiry(anchor.expiry.clone()))
}

pub async fn handle<S, F, Q>(
    service: &Service<S, F, Q>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: CustomerStore + TransactionStore,
    F: FileStore,
    Q: Queue,
{
    Ok(routes::handle(service, &request).await.map(Body::from))
}
