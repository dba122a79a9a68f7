//! One execution environment: a function's release bootstrap started as Lambda starts it (its
//! settings in the environment, `AWS_LAMBDA_RUNTIME_API` pointing at its own Runtime API), and
//! what Lambda bills it for, read from /proc: CPU time (schedstat, every thread) and memory.

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hyper::body::Bytes;

use crate::front::{self, HttpRequest, HttpResponse};
use crate::runtime_api::{Outcome, RuntimeApi};

pub struct Environment {
    child: Child,
    api: RuntimeApi,
    spawned: Instant,
    sequence: u64,
}

/// The cost of a cold start: from the process's start to its first `/next`.
#[derive(Clone, Copy, Debug)]
pub struct Init {
    pub wall: Duration,
    pub cpu: Duration,
}

impl Environment {
    /// Starts `command` (a bootstrap, perhaps under a profiler) as function `name`, its output
    /// appended to `log`.
    pub async fn start(
        command_line: &[String],
        name: &str,
        settings: &[(String, String)],
        log: &File,
    ) -> Result<Self, String> {
        let api = RuntimeApi::start(name)
            .await
            .map_err(|error| format!("runtime API: {error}"))?;
        let (program, args) = command_line.split_first().ok_or("no command")?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(settings.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", api.addr.port().to_string())
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log.try_clone().map_err(|e| e.to_string())?);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .map_err(|error| format!("{program}: {error}"))?;
        Ok(Self {
            child,
            api,
            spawned,
            sequence: 0,
        })
    }

    /// Waits for the end of the init, and tells what it cost.
    pub async fn init(&mut self) -> Result<Init, String> {
        self.idle().await?;
        let first_next = self.api.first_next().ok_or("no /next")?;
        Ok(Init {
            wall: first_next.duration_since(self.spawned),
            cpu: Duration::from_nanos(self.cpu_ns()),
        })
    }

    /// Waits until the function sits in `/next` (its CPU time is then settled); fails at once
    /// if it exits (a wrong path, a start-up error: the log tells).
    pub async fn idle(&mut self) -> Result<(), String> {
        for _ in 0..300 {
            match self.api.idle(Duration::from_millis(100)).await {
                Ok(()) => return Ok(()),
                Err(error) if error.starts_with("init error") => return Err(error),
                Err(_) => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the function exited ({status}); see the bench log"));
            }
        }
        Err("not idle within 30 s".to_owned())
    }

    /// One HTTP request through the API Gateway (HTTP API, payload 2.0) front.
    pub async fn request(&mut self, request: &HttpRequest) -> Result<HttpResponse, String> {
        self.sequence += 1;
        let event = front::event(request, self.sequence);
        match self.api.invoke(Bytes::from(event)).await? {
            Outcome::Response(body) => front::response(&body),
            Outcome::Error(body) => Err(format!(
                "invocation error: {}",
                String::from_utf8_lossy(&body)
            )),
        }
    }

    /// CPU time used so far by every thread of the process, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    /// Resident memory now and at its peak, in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Environment {
    /// SIGTERM first, so that a profiler under `--wrap` writes its data out; SIGKILL after 10 s.
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
