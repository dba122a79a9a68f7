//! What the fuzz targets share: one current-thread runtime, and a SEP-10 service over the
//! in-memory ports whose fixed clock and server key match the seed corpus (`corpus/sep10_*`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use mooring::clock::FixedClock;
use mooring::config::{AnchorConfig, Sep10Config};
use mooring::horizon::InMemoryHorizon;
use mooring::sep10::{InMemoryClientDomains, Ports, WebAuth};
use mooring::stellar::{Keypair, Network};
use mooring::store::InMemoryStore;
use sha2::{Digest, Sha256};

/// The time of the seed challenges (their time bounds are [NOW, NOW + 900]).
pub const NOW: u64 = 1_700_000_000;

pub type FuzzWebAuth = WebAuth<Arc<InMemoryHorizon>, InMemoryClientDomains, InMemoryStore>;

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A key derived from a label, as `fuzz/seeds.py` derives it: SHA-256 of the label is the seed.
pub fn seeded(label: &str) -> Keypair {
    Keypair::from_seed_bytes(Sha256::digest(label.as_bytes()).into())
}

/// The SEP-10 service under test: server key `seeded("fuzz server")`, home domain
/// example.com, web_auth_domain auth.example.com, testnet, the clock at [`NOW`]. Its challenge
/// store is fresh for every call, so a seed's valid challenge is exchanged every time.
pub fn web_auth() -> FuzzWebAuth {
    static SETTINGS: OnceLock<(AnchorConfig, Sep10Config)> = OnceLock::new();
    let (anchor, sep10) = SETTINGS.get_or_init(|| {
        let seed = seeded("fuzz server").secret_seed();
        let env: BTreeMap<String, String> = [
            ("HOME_DOMAINS", "example.com"),
            ("PUBLIC_URL", "https://auth.example.com"),
            ("NETWORK_PASSPHRASE", Network::TESTNET_PASSPHRASE),
            ("SIGNING_SEED", seed.as_str()),
            ("JWT_SECRET", "fuzz-secret-fuzz-secret-fuzz-secret!"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let anchor = AnchorConfig::from_source(&env).expect("fuzz settings");
        let sep10 = Sep10Config::from_source(&env, &anchor).expect("fuzz SEP-10 settings");
        (anchor, sep10)
    });
    WebAuth::new(
        anchor.clone(),
        sep10.clone(),
        Ports {
            horizon: Arc::new(InMemoryHorizon::default()),
            client_domains: InMemoryClientDomains::default(),
            challenges: InMemoryStore::default(),
            clock: Arc::new(FixedClock::at(NOW)),
        },
    )
}
