//! What Lambda bills, measured: each function's release bootstrap runs behind a local Runtime
//! API and HTTP API front (this program), against the local stack's DynamoDB and ledger, with
//! a hello-world lambda_http function measured in the same run as the runtime's floor.
//!
//! Per scenario: two environments of the function kept busy (two cores), the server CPU per
//! operation from every thread's schedstat, the peak RSS; per function: the init (cold start)
//! time and CPU, median of several starts; with `--rss N`: one environment's RSS over N
//! invocations. Run by `bash tests/bench/lambda.sh` (README, "Performance"), never by the tests.

mod environment;
mod front;
mod runtime_api;
mod scenario;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mooring::stellar::{Keypair, Network};
use scenario::{Operation, Scenario, Wallet, SCENARIOS};

use crate::environment::{Environment, Init};

struct Options {
    env_dir: PathBuf,
    bin_dir: PathBuf,
    log: PathBuf,
    operations: usize,
    warmup: usize,
    cold_starts: usize,
    rss: usize,
    only: Vec<String>,
    wrap: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        env_dir: ".local/stack/functions".into(),
        bin_dir: "target/release".into(),
        log: "target/bench/lambda-bench.log".into(),
        operations: 2_000,
        warmup: 200,
        cold_starts: 11,
        rss: 0,
        only: Vec::new(),
        wrap: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |text: String| text.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--env-dir" => options.env_dir = value()?.into(),
            "--bin-dir" => options.bin_dir = value()?.into(),
            "--log" => options.log = value()?.into(),
            "--operations" => options.operations = number(value()?)?,
            "--warmup" => options.warmup = number(value()?)?,
            "--cold-starts" => options.cold_starts = number(value()?)?,
            "--rss" => options.rss = number(value()?)?,
            "--only" => options.only = value()?.split(',').map(str::to_owned).collect(),
            "--wrap" => options.wrap = value()?.split_whitespace().map(str::to_owned).collect(),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    if options.rss != 0 && options.rss <= 1_000 {
        return Err("--rss counts from the 1,000th invocation: give more than 1000".to_owned());
    }
    if options.operations == 0 {
        return Err("--operations must be at least 1".to_owned());
    }
    Ok(options)
}

const USAGE: &str = "lambda-bench [--env-dir D] [--bin-dir D] [--operations N] [--warmup N] \
[--cold-starts N] [--rss N] [--only sep10-auth,...] [--log F] [--wrap 'valgrind --tool=callgrind']";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("lambda-bench: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let options = options()?;
    // Each function starts with exactly the variables it is deployed with (secrets included:
    // each secret is one Secrets Manager call of its cold start).
    let mut settings = BTreeMap::new();
    for function in FUNCTIONS {
        let path = options.env_dir.join(format!("{function}.env"));
        settings.insert(*function, read_env_file(&path)?);
    }
    let auth = &settings["sep10-auth"];
    // The login targets are for a key in the function's memory: through the emulator's KMS,
    // each challenge would cost a local HTTP call the benchmark would bill to sep10-auth.
    if auth.iter().any(|(name, _)| name == "SIGNING_KMS_KEY_ID") {
        return Err(format!(
            "{}: the local stack's SEP-10 key is a KMS key; restart it with \
             MOORING_SIGNING_KEY=seed bash infra/local.sh (or stop it: tests/bench/lambda.sh \
             then starts its own)",
            options.env_dir.display()
        ));
    }
    if let Some(parent) = options.log.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let log = File::create(&options.log).map_err(|e| format!("{}: {e}", options.log.display()))?;
    let lookup = |name: &str| {
        auth.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .ok_or(format!("{name} is not in sep10-auth.env"))
    };
    let public_url = lookup("PUBLIC_URL")?;
    let host = public_url
        .split_once("://")
        .map_or(public_url.as_str(), |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned();
    let network = Network::new(lookup("NETWORK_PASSPHRASE")?);
    let bench = Bench {
        options: &options,
        settings: &settings,
        log: &log,
    };

    // One wallet per environment: two users, as two environments serve in production (one
    // user's concurrent updates of their own customer record conflict, by design).
    let mut wallets = [
        Wallet::new(Keypair::random(), network.clone(), host.clone()),
        Wallet::new(Keypair::random(), network, host),
    ];
    for wallet in &mut wallets {
        bench.sign_in(wallet).await?;
    }
    let wallet = &wallets[0];

    let selected: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| {
            options.only.is_empty()
                || s.operation == Operation::Hello
                || options.only.iter().any(|name| name == s.function)
        })
        .collect();

    println!("{}", machine());
    println!();
    println!("| scenario | function | CPU per operation | above the floor | peak RSS |");
    println!("|---|---|---|---|---|");
    let mut floor = None;
    for scenario in &selected {
        let measured = bench.cpu_per_operation(scenario, &wallets).await?;
        let per_invocation_floor = floor.unwrap_or(measured.cpu_us);
        if scenario.operation == Operation::Hello {
            floor = Some(measured.cpu_us);
        }
        let invocations = if scenario.operation == Operation::Login {
            2.0
        } else {
            1.0
        };
        println!(
            "| {} | {} | {:.3} ms | {:+.3} ms | {:.1} MiB |",
            scenario.name,
            scenario.function,
            measured.cpu_us / 1000.0,
            (measured.cpu_us - invocations * per_invocation_floor) / 1000.0,
            measured.peak_rss_kib as f64 / 1024.0
        );
    }

    if options.cold_starts > 0 {
        println!();
        println!(
            "| function | init (median of {}) | init CPU | bootstrap size |",
            options.cold_starts
        );
        println!("|---|---|---|---|");
        let mut functions: Vec<&str> = Vec::new();
        for scenario in &selected {
            if !functions.contains(&scenario.function) {
                functions.push(scenario.function);
            }
        }
        for function in functions {
            let init = bench.cold_starts(function).await?;
            let size = std::fs::metadata(bench.bootstrap(function)).map_or(0, |m| m.len());
            println!(
                "| {function} | {:.2} ms | {:.2} ms | {:.1} MB |",
                init.wall.as_secs_f64() * 1000.0,
                init.cpu.as_secs_f64() * 1000.0,
                size as f64 / 1e6
            );
        }
    }

    if options.rss > 0 {
        println!();
        println!(
            "| function | RSS after 1,000 | after {} | growth per invocation |",
            options.rss
        );
        println!("|---|---|---|---|");
        for (function, operation) in RSS_OPERATIONS {
            if !options.only.is_empty()
                && *function != "hello-lambda"
                && !options.only.iter().any(|name| name == function)
            {
                continue;
            }
            let (first, last) = bench
                .rss_over_invocations(function, *operation, wallet)
                .await?;
            println!(
                "| {function} | {:.1} MiB | {:.1} MiB | {:.1} bytes |",
                first as f64 / 1024.0,
                last as f64 / 1024.0,
                (last as f64 - first as f64) * 1024.0 / (options.rss - 1_000) as f64
            );
        }
    }
    Ok(())
}

/// One cheap request per HTTP function: the RSS mode measures the runtime, not the work.
const RSS_OPERATIONS: &[(&str, Operation)] = &[
    ("hello-lambda", Operation::Hello),
    ("sep1-toml", Operation::Toml),
    ("sep10-auth", Operation::Challenge),
    ("sep12-kyc", Operation::CustomerGet),
    ("sep24-transfer", Operation::Sep24Info),
    ("sep24-interactive", Operation::Refused),
];

struct Bench<'a> {
    options: &'a Options,
    settings: &'a BTreeMap<&'static str, Vec<(String, String)>>,
    log: &'a File,
}

struct Measured {
    cpu_us: f64,
    peak_rss_kib: u64,
}

impl Bench<'_> {
    /// The deployed function's variables; the hello-world floor reads none, and gets the
    /// smallest set.
    fn settings_of(&self, function: &str) -> &[(String, String)] {
        let deployed = if function == "hello-lambda" {
            "sep1-toml"
        } else {
            function
        };
        self.settings.get(deployed).map_or(&[], Vec::as_slice)
    }

    fn bootstrap(&self, function: &str) -> PathBuf {
        self.options.bin_dir.join(function)
    }

    /// The command line that starts `function`: its bootstrap, under `--wrap` if given (a
    /// profiler; its CPU then counts too).
    fn command(&self, function: &str) -> Vec<String> {
        let mut command = self.options.wrap.clone();
        command.push(self.bootstrap(function).display().to_string());
        command
    }

    /// A new environment of `function`, before its init.
    async fn start(&self, function: &str) -> Result<Environment, String> {
        let command = self.command(function);
        Environment::start(&command, function, self.settings_of(function), self.log).await
    }

    async fn environment(&self, function: &str) -> Result<Environment, String> {
        let mut environment = self.start(function).await?;
        environment
            .init()
            .await
            .map_err(|e| format!("{function}: {e}"))?;
        Ok(environment)
    }

    /// A session for the wallet, the anchor's asset, and three transactions to list.
    async fn sign_in(&self, wallet: &mut Wallet) -> Result<(), String> {
        let mut auth = self.environment("sep10-auth").await?;
        let token = wallet.run(&mut auth, Operation::Login).await?;
        let token: serde_json::Value = serde_json::from_str(&token).map_err(|e| e.to_string())?;
        wallet.token = token["token"].as_str().ok_or("no token")?.to_owned();
        let mut transfer = self.environment("sep24-transfer").await?;
        let info = wallet.run(&mut transfer, Operation::Sep24Info).await?;
        let info: serde_json::Value = serde_json::from_str(&info).map_err(|e| e.to_string())?;
        wallet.asset_code = info["deposit"]
            .as_object()
            .and_then(|assets| assets.keys().next().cloned())
            .ok_or("/sep24/info lists no deposit asset")?;
        for _ in 0..3 {
            wallet.run(&mut transfer, Operation::Deposit).await?;
        }
        Ok(())
    }

    /// Two environments kept busy: CPU per operation over both, after a warm-up.
    async fn cpu_per_operation(
        &self,
        scenario: &Scenario,
        wallets: &[Wallet; 2],
    ) -> Result<Measured, String> {
        // SCENARIOS lists the listing before the deposits, so it finds the three rows of sign_in.
        let mut first = self.environment(scenario.function).await?;
        let mut second = self.environment(scenario.function).await?;
        let n = self.options.operations;
        let mut pair = [&mut first, &mut second];
        busy(&mut pair, wallets, scenario.operation, self.options.warmup).await?;
        let before = pair[0].cpu_ns() + pair[1].cpu_ns();
        busy(&mut pair, wallets, scenario.operation, n).await?;
        let after = first.cpu_ns() + second.cpu_ns();
        Ok(Measured {
            cpu_us: (after - before) as f64 / 1000.0 / (2 * n) as f64,
            peak_rss_kib: first.memory_kib().1.max(second.memory_kib().1),
        })
    }

    /// The median init of several cold starts.
    async fn cold_starts(&self, function: &str) -> Result<Init, String> {
        let mut inits = Vec::new();
        for _ in 0..self.options.cold_starts {
            let mut environment = self.start(function).await?;
            inits.push(environment.init().await?);
        }
        let mut walls: Vec<Duration> = inits.iter().map(|i| i.wall).collect();
        let mut cpus: Vec<Duration> = inits.iter().map(|i| i.cpu).collect();
        walls.sort();
        cpus.sort();
        Ok(Init {
            wall: walls[walls.len() / 2],
            cpu: cpus[cpus.len() / 2],
        })
    }

    /// RSS (KiB) after 1,000 invocations and after `--rss` of them.
    async fn rss_over_invocations(
        &self,
        function: &str,
        operation: Operation,
        wallet: &Wallet,
    ) -> Result<(u64, u64), String> {
        let mut environment = self.environment(function).await?;
        repeat(&mut environment, wallet, operation, 1_000).await?;
        environment.idle().await?;
        let first = environment.memory_kib().0;
        let total = self.options.rss;
        let step = (total / 10).max(1);
        let mut done = 1_000;
        while done < total {
            let batch = step.min(total - done);
            repeat(&mut environment, wallet, operation, batch).await?;
            done += batch;
            eprintln!(
                "  {function}: {done} invocations, RSS {} KiB",
                environment.memory_kib().0
            );
        }
        environment.idle().await?;
        Ok((first, environment.memory_kib().0))
    }
}

/// Both environments busy with `times` operations each, then idle (their CPU time settled).
async fn busy(
    pair: &mut [&mut Environment; 2],
    wallets: &[Wallet; 2],
    operation: Operation,
    times: usize,
) -> Result<(), String> {
    let [first, second] = pair;
    let (a, b) = tokio::join!(
        repeat(first, &wallets[0], operation, times),
        repeat(second, &wallets[1], operation, times)
    );
    a?;
    b?;
    first.idle().await?;
    second.idle().await
}

async fn repeat(
    environment: &mut Environment,
    wallet: &Wallet,
    operation: Operation,
    times: usize,
) -> Result<(), String> {
    for _ in 0..times {
        wallet.run(environment, operation).await?;
    }
    Ok(())
}

/// The functions measured (beside the hello-world floor).
const FUNCTIONS: &[&str] = &[
    "sep1-toml",
    "sep10-auth",
    "sep12-kyc",
    "sep24-transfer",
    "sep24-interactive",
];

/// `NAME='value'` lines, as infra/local.sh writes them for cargo-lambda.
fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        format!(
            "{}: {error} (start the local stack: bash infra/local.sh)",
            path.display()
        )
    })?;
    let mut settings = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line
            .split_once('=')
            .ok_or(format!("not NAME=value: {line}"))?;
        let value = value.trim_matches('\'').trim_matches('"');
        settings.insert(name.to_owned(), value.to_owned());
    }
    Ok(settings.into_iter().collect())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("machine: {cpu}, {cores} cores, {}", std::env::consts::ARCH)
}
