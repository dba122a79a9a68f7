//! What a wallet does to the anchor, one operation at a time: each operation is one or two
//! invocations of one function, and checks its answer (a benchmark of failures measures
//! nothing).

use mooring::stellar::xdr;
use mooring::stellar::{
    decode_envelope, encode_envelope, sign_hash, transaction_hash, Keypair, Network,
};
use serde_json::{json, Value};

use crate::environment::Environment;
use crate::front::{HttpRequest, HttpResponse};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `GET /` of the hello-world function: the runtime's floor.
    Hello,
    Toml,
    Sep24Info,
    Challenge,
    /// `GET /auth`, then `POST /auth` with the signed challenge: one login, two invocations.
    Login,
    /// `GET /sep24/transactions` of a user with three transactions.
    Listing,
    CustomerGet,
    CustomerPut,
    Deposit,
    Withdraw,
    /// `GET /sep24/interactive` without its token: a refusal (any 4xx), the path of every bad
    /// request.
    Refused,
}

pub struct Scenario {
    pub name: &'static str,
    pub function: &'static str,
    pub operation: Operation,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "hello world (floor)",
        function: "hello-lambda",
        operation: Operation::Hello,
    },
    Scenario {
        name: "GET stellar.toml",
        function: "sep1-toml",
        operation: Operation::Toml,
    },
    Scenario {
        name: "GET /sep24/info",
        function: "sep24-transfer",
        operation: Operation::Sep24Info,
    },
    Scenario {
        name: "GET /auth (challenge)",
        function: "sep10-auth",
        operation: Operation::Challenge,
    },
    Scenario {
        name: "SEP-10 login (GET + POST /auth)",
        function: "sep10-auth",
        operation: Operation::Login,
    },
    Scenario {
        name: "GET /sep24/transactions (3 rows)",
        function: "sep24-transfer",
        operation: Operation::Listing,
    },
    Scenario {
        name: "GET /kyc/customer",
        function: "sep12-kyc",
        operation: Operation::CustomerGet,
    },
    Scenario {
        name: "PUT /kyc/customer",
        function: "sep12-kyc",
        operation: Operation::CustomerPut,
    },
    Scenario {
        name: "POST /sep24/.../deposit/interactive",
        function: "sep24-transfer",
        operation: Operation::Deposit,
    },
    Scenario {
        name: "POST /sep24/.../withdraw/interactive",
        function: "sep24-transfer",
        operation: Operation::Withdraw,
    },
];

/// The wallet: its key, its session and the anchor's asset, found by a login and a look at
/// `/sep24/info` before the measurements.
pub struct Wallet {
    pub keypair: Keypair,
    pub network: Network,
    pub host: String,
    pub token: String,
    pub asset_code: String,
}

impl Wallet {
    pub fn new(keypair: Keypair, network: Network, host: String) -> Self {
        Self {
            keypair,
            network,
            host,
            token: String::new(),
            asset_code: String::new(),
        }
    }

    fn request(&self, request: HttpRequest) -> HttpRequest {
        request.with_header("host", &self.host)
    }

    fn authorized(&self, request: HttpRequest) -> HttpRequest {
        self.request(request)
            .with_header("authorization", &format!("Bearer {}", self.token))
    }

    /// Runs `operation` once on `environment`, checking the answer; returns the answer's body.
    pub async fn run(
        &self,
        environment: &mut Environment,
        operation: Operation,
    ) -> Result<String, String> {
        let account = self.keypair.account_id().to_string();
        let asset = self.asset_code.as_str();
        let request = match operation {
            Operation::Hello => self.request(HttpRequest::get("/")),
            Operation::Toml => self.request(HttpRequest::get("/.well-known/stellar.toml")),
            Operation::Sep24Info => self.request(HttpRequest::get("/sep24/info")),
            Operation::Challenge => {
                self.request(HttpRequest::get("/auth").with_query(&[("account", &account)]))
            }
            Operation::Login => return self.login(environment).await,
            Operation::Listing => self.authorized(
                HttpRequest::get("/sep24/transactions").with_query(&[("asset_code", asset)]),
            ),
            Operation::CustomerGet => self.authorized(HttpRequest::get("/kyc/customer")),
            Operation::CustomerPut => self.authorized(HttpRequest::get("/kyc/customer").with_json(
                "PUT",
                &json!({"first_name": "Ada", "last_name": "Lovelace",
                        "email_address": "ada@example.com"}),
            )),
            Operation::Deposit => self.authorized(
                HttpRequest::get("/sep24/transactions/deposit/interactive").with_json(
                    "POST",
                    &json!({"asset_code": asset, "account": account, "amount": "10"}),
                ),
            ),
            Operation::Withdraw => self.authorized(
                HttpRequest::get("/sep24/transactions/withdraw/interactive").with_json(
                    "POST",
                    &json!({"asset_code": asset, "account": account, "amount": "10"}),
                ),
            ),
            Operation::Refused => self.request(HttpRequest::get("/sep24/interactive")),
        };
        let response = environment.request(&request).await?;
        match operation {
            Operation::Refused if (400..500).contains(&response.status) => Ok(response.body),
            Operation::CustomerPut => expect(response, 202, operation),
            _ => expect(response, 200, operation),
        }
    }

    async fn login(&self, environment: &mut Environment) -> Result<String, String> {
        let account = self.keypair.account_id().to_string();
        let challenge = environment
            .request(&self.request(HttpRequest::get("/auth").with_query(&[("account", &account)])))
            .await?;
        let challenge = expect(challenge, 200, Operation::Challenge)?;
        let challenge: Value = serde_json::from_str(&challenge).map_err(|e| e.to_string())?;
        let signed = self.sign(challenge["transaction"].as_str().unwrap_or_default())?;
        let token = environment
            .request(&self.request(
                HttpRequest::get("/auth").with_json("POST", &json!({ "transaction": signed })),
            ))
            .await?;
        expect(token, 200, Operation::Login)
    }

    fn sign(&self, challenge: &str) -> Result<String, String> {
        let Ok(xdr::TransactionEnvelope::Tx(mut envelope)) = decode_envelope(challenge) else {
            return Err(format!("not a challenge: {challenge}"));
        };
        let hash = transaction_hash(&envelope.tx, &self.network).map_err(|e| e.to_string())?;
        let mut signatures = envelope.signatures.to_vec();
        signatures.push(sign_hash(&self.keypair, &hash));
        envelope.signatures = signatures.try_into().map_err(|_| "too many signatures")?;
        encode_envelope(&xdr::TransactionEnvelope::Tx(envelope)).map_err(|e| e.to_string())
    }
}

fn expect(response: HttpResponse, status: u16, operation: Operation) -> Result<String, String> {
    if response.status == status {
        Ok(response.body)
    } else {
        Err(format!(
            "{operation:?}: status {} (expected {status}): {}",
            response.status, response.body
        ))
    }
}
