//! Metrics as CloudWatch Embedded Metric Format (EMF): JSON lines on stdout that CloudWatch Logs
//! turns into metrics, with no API call and no AWS type.
//!
//! Code anywhere records with [`record`] (or [`count`]); the Lambda glue writes what an
//! invocation recorded with [`flush`] when it ends: one line per set of dimensions, nothing when
//! nothing was recorded. Counts of the same metric and dimensions add up; other values (latency,
//! queue lag, balances) are kept one by one (EMF's value arrays, up to [`MAX_VALUES`]).
//!
//! Cheap on the hot path: the entries and the line buffer are kept between invocations and
//! reused (their strings and vectors keep their capacity), and their number is bounded
//! ([`MAX_ENTRIES`]), so a process's memory does not grow with its invocations.
//!
//! Tests capture what the code under test records with [`Recording`] (per thread: a
//! `current_thread` tokio test runs on its own thread).

use std::io::Write;
use std::sync::Mutex;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Mooring";
/// The dimension naming the function that recorded a metric (its Lambda name).
pub const FUNCTION: &str = "Function";
/// At most this many distinct metrics and dimensions per invocation: more are dropped (and
/// logged), never allocated.
pub const MAX_ENTRIES: usize = 64;
/// At most this many values of one metric per line (EMF's limit is 100).
pub const MAX_VALUES: usize = 100;
/// At most this many dimensions besides `Function`.
pub const MAX_DIMENSIONS: usize = 2;

/// The unit CloudWatch shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::None => "None",
        }
    }
}

/// What Mooring measures. The name is the CloudWatch metric name (the alarms in template.yaml
/// name them too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// HTTP requests answered (every HTTP function).
    Requests,
    /// ... answered 4xx.
    ClientErrors,
    /// ... answered 5xx.
    ServerErrors,
    /// ... time from the event to the answer.
    Latency,
    /// Transactions that reached a final status: dimensions `Kind` (deposit, withdrawal,
    /// receive) and `Outcome` (the status). Not per function.
    TransactionsFinished,
    /// Stellar transactions submitted to Horizon (the Stellar submitter): dimension `Outcome`
    /// (`applied`, `failed`, `unknown`: Horizon did not say).
    StellarSubmissions,
    /// Submissions the Stellar submitter put off to a later delivery (Horizon unreachable, the
    /// outcome unknown, a transient refusal).
    SubmissionRetries,
    /// Queue messages delivered again (their receive count above 1).
    Redeliveries,
    /// How long a queue message waited, from its sending to its processing.
    QueueLag,
    /// Status callbacks posted and answered 2xx.
    CallbacksDelivered,
    /// Status callbacks that failed (to be retried, or given up).
    CallbacksFailed,
    /// Transactions past their status's expected time: dimension `Status`. Not per function.
    StuckTransactions,
    /// The lowest balance of the anchor's accounts: dimensions `Accounts` (distribution,
    /// channels) and `Asset` (XLM, issued). Not per function.
    LowestBalance,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Self::Requests => "Requests",
            Self::ClientErrors => "ClientErrors",
            Self::ServerErrors => "ServerErrors",
            Self::Latency => "Latency",
            Self::TransactionsFinished => "TransactionsFinished",
            Self::StellarSubmissions => "StellarSubmissions",
            Self::SubmissionRetries => "SubmissionRetries",
            Self::Redeliveries => "Redeliveries",
            Self::QueueLag => "QueueLag",
            Self::CallbacksDelivered => "CallbacksDelivered",
            Self::CallbacksFailed => "CallbacksFailed",
            Self::StuckTransactions => "StuckTransactions",
            Self::LowestBalance => "LowestBalance",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Self::Latency | Self::QueueLag => Unit::Milliseconds,
            Self::StuckTransactions | Self::LowestBalance => Unit::None,
            _ => Unit::Count,
        }
    }

    /// Whether the metric is kept per function (the `Function` dimension). The anchor-wide ones
    /// (outcomes, stuck transactions, balances) are not, so that an alarm names them without
    /// knowing which function emits them.
    pub fn per_function(self) -> bool {
        !matches!(
            self,
            Self::TransactionsFinished | Self::StuckTransactions | Self::LowestBalance
        )
    }

    /// Counts add up within an invocation; other values are kept one by one.
    fn adds_up(self) -> bool {
        self.unit() == Unit::Count
    }
}

/// One metric with its dimensions, as recorded during an invocation.
#[derive(Debug, Default)]
struct Entry {
    metric: Option<Metric>,
    dimensions: [(&'static str, String); MAX_DIMENSIONS],
    dimension_count: usize,
    values: Vec<f64>,
}

impl Entry {
    fn is(&self, metric: Metric, dimensions: &[(&'static str, &str)]) -> bool {
        self.metric == Some(metric) && self.same_dimensions(dimensions)
    }

    fn same_dimensions(&self, dimensions: &[(&'static str, &str)]) -> bool {
        self.dimension_count == dimensions.len()
            && self.dimensions[..self.dimension_count]
                .iter()
                .zip(dimensions)
                .all(|((name, value), (other_name, other_value))| {
                    name == other_name && value == other_value
                })
    }

    fn per_function(&self) -> bool {
        self.metric.is_some_and(Metric::per_function)
    }

    /// Whether this entry goes on the same line as `other` (the same dimensions).
    fn shares_line_with(&self, other: &Entry) -> bool {
        self.per_function() == other.per_function()
            && self.dimension_count == other.dimension_count
            && self.dimensions[..self.dimension_count] == other.dimensions[..other.dimension_count]
    }
}

/// An invocation's metrics, written as EMF lines. Reused: nothing is freed between
/// invocations, so nothing is allocated again once the buffers have grown to an invocation's
/// needs.
#[derive(Debug, Default)]
pub struct Emf {
    entries: Vec<Entry>,
    used: usize,
    line: Vec<u8>,
    written: Vec<bool>,
}

impl Emf {
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
            used: 0,
            line: Vec::new(),
            written: Vec::new(),
        }
    }

    /// Records `value` of `metric` with `dimensions` (at most [`MAX_DIMENSIONS`]; more are
    /// ignored). A non-finite value is dropped: JSON has no NaN.
    pub fn record(&mut self, metric: Metric, dimensions: &[(&'static str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        let dimensions = &dimensions[..dimensions.len().min(MAX_DIMENSIONS)];
        let used = &mut self.entries[..self.used];
        if let Some(entry) = used.iter_mut().find(|entry| entry.is(metric, dimensions)) {
            if metric.adds_up() {
                if let Some(total) = entry.values.first_mut() {
                    *total += value;
                }
            } else if entry.values.len() < MAX_VALUES {
                entry.values.push(value);
            }
            return;
        }
        if self.used == MAX_ENTRIES {
            tracing::warn!(
                metric = metric.name(),
                "too many metrics in one invocation; dropped"
            );
            return;
        }
        if self.used == self.entries.len() {
            self.entries.push(Entry::default());
        }
        let entry = &mut self.entries[self.used];
        self.used += 1;
        entry.metric = Some(metric);
        entry.dimension_count = dimensions.len();
        for (slot, (name, value)) in entry.dimensions.iter_mut().zip(dimensions) {
            slot.0 = name;
            slot.1.clear();
            slot.1.push_str(value);
        }
        entry.values.clear();
        entry.values.push(value);
    }

    /// Whether anything was recorded since the last write.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Writes what was recorded as EMF lines into `out` (one `write_all` per line), naming
    /// `function`, stamped `timestamp_ms` (Unix milliseconds), and forgets it. Nothing recorded:
    /// nothing written.
    pub fn write(
        &mut self,
        function: &str,
        timestamp_ms: u64,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let used = std::mem::take(&mut self.used);
        self.written.clear();
        self.written.resize(used, false);
        for first in 0..used {
            if self.written[first] {
                continue;
            }
            self.line.clear();
            let head = &self.entries[first];
            write_line(
                &mut self.line,
                &self.entries[..used],
                &mut self.written,
                head,
                first,
                function,
                timestamp_ms,
            )?;
            self.line.push(b'\n');
            out.write_all(&self.line)?;
        }
        Ok(())
    }
}

/// One EMF line: the entries from `first` on that share `head`'s dimensions (marked written).
fn write_line(
    line: &mut Vec<u8>,
    entries: &[Entry],
    written: &mut [bool],
    head: &Entry,
    first: usize,
    function: &str,
    timestamp_ms: u64,
) -> std::io::Result<()> {
    let line_entries =
        || (first..entries.len()).filter(move |&index| entries[index].shares_line_with(head));
    let dimensions = &head.dimensions[..head.dimension_count];
    write!(
        line,
        r#"{{"_aws":{{"Timestamp":{timestamp_ms},"CloudWatchMetrics":[{{"Namespace":"{NAMESPACE}","Dimensions":[["#
    )?;
    let mut names = head
        .per_function()
        .then_some(FUNCTION)
        .into_iter()
        .chain(dimensions.iter().map(|(name, _)| *name));
    if let Some(name) = names.next() {
        write_string(line, name)?;
    }
    for name in names {
        line.push(b',');
        write_string(line, name)?;
    }
    line.extend_from_slice(br#"]],"Metrics":["#);
    for (n, index) in line_entries().enumerate() {
        let Some(metric) = entries[index].metric else {
            continue;
        };
        if n > 0 {
            line.push(b',');
        }
        write!(
            line,
            r#"{{"Name":"{}","Unit":"{}"}}"#,
            metric.name(),
            metric.unit().as_str()
        )?;
    }
    line.extend_from_slice(b"]}]}");
    if head.per_function() {
        write!(line, r#","{FUNCTION}":"#)?;
        write_string(line, function)?;
    }
    for (name, value) in dimensions {
        line.push(b',');
        write_string(line, name)?;
        line.push(b':');
        write_string(line, value)?;
    }
    for index in line_entries() {
        written[index] = true;
        let entry = &entries[index];
        let Some(metric) = entry.metric else {
            continue;
        };
        write!(line, r#","{}":"#, metric.name())?;
        match entry.values.as_slice() {
            [one] => write_number(line, *one)?,
            many => {
                line.push(b'[');
                for (n, value) in many.iter().enumerate() {
                    if n > 0 {
                        line.push(b',');
                    }
                    write_number(line, *value)?;
                }
                line.push(b']');
            }
        }
    }
    line.push(b'}');
    Ok(())
}

/// A JSON string (escaped: dimension values may come from settings).
fn write_string(line: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    serde_json::to_writer(&mut *line, text).map_err(std::io::Error::other)
}

/// A JSON number: whole numbers without a fraction.
fn write_number(line: &mut Vec<u8>, value: f64) -> std::io::Result<()> {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        write!(line, "{}", value as i64)
    } else {
        write!(line, "{value}")
    }
}

/// The process's metrics, written at the end of each invocation ([`flush`]).
static PROCESS: Mutex<Emf> = Mutex::new(Emf::new());

fn process() -> std::sync::MutexGuard<'static, Emf> {
    PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Records `value` of `metric` with `dimensions` for the invocation in progress.
pub fn record(metric: Metric, dimensions: &[(&'static str, &str)], value: f64) {
    #[cfg(any(test, feature = "testing"))]
    if recording::take(metric, dimensions, value) {
        return;
    }
    process().record(metric, dimensions, value);
}

/// Counts one `metric` with `dimensions`.
pub fn count(metric: Metric, dimensions: &[(&'static str, &str)]) {
    record(metric, dimensions, 1.0);
}

/// Writes the invocation's metrics to stdout (CloudWatch Logs) and forgets them. The function
/// is named by `AWS_LAMBDA_FUNCTION_NAME` (`local` outside Lambda). Nothing recorded: nothing
/// written, nothing read.
pub fn flush() {
    let mut emf = process();
    if emf.is_empty() {
        return;
    }
    let timestamp_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if let Err(error) = emf.write(function_name(), timestamp_ms, &mut out) {
        tracing::warn!(%error, "metrics could not be written");
    }
}

/// This function's name (read once).
fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned())
    })
}

#[cfg(any(test, feature = "testing"))]
pub use recording::Recording;

#[cfg(any(test, feature = "testing"))]
mod recording {
    use std::cell::RefCell;

    use super::Metric;

    /// One recorded value: the metric, its dimensions, the value.
    pub type Recorded = (Metric, Vec<(&'static str, String)>, f64);

    thread_local! {
        static RECORDED: RefCell<Option<Vec<Recorded>>> = const { RefCell::new(None) };
    }

    /// Keeps what this thread records while it lives (instead of the process's metrics).
    pub struct Recording(());

    impl Recording {
        pub fn start() -> Self {
            RECORDED.with(|slot| *slot.borrow_mut() = Some(Vec::new()));
            Self(())
        }

        /// Everything recorded so far, in order.
        pub fn recorded(&self) -> Vec<Recorded> {
            RECORDED.with(|slot| slot.borrow().clone().unwrap_or_default())
        }

        /// The sum of the values of `metric` with exactly `dimensions`.
        pub fn total(&self, metric: Metric, dimensions: &[(&'static str, &str)]) -> f64 {
            self.recorded()
                .iter()
                .filter(|(m, d, _)| {
                    *m == metric
                        && d.len() == dimensions.len()
                        && d.iter()
                            .zip(dimensions)
                            .all(|((n, v), (on, ov))| n == on && v == ov)
                })
                .map(|(_, _, value)| value)
                .sum()
        }
    }

    impl Drop for Recording {
        fn drop(&mut self) {
            RECORDED.with(|slot| *slot.borrow_mut() = None);
        }
    }

    /// Keeps the value if this thread is recording.
    pub(super) fn take(metric: Metric, dimensions: &[(&'static str, &str)], value: f64) -> bool {
        RECORDED.with(|slot| match slot.borrow_mut().as_mut() {
            Some(recorded) => {
                recorded.push((
                    metric,
                    dimensions
                        .iter()
                        .map(|(name, value)| (*name, (*value).to_owned()))
                        .collect(),
                    value,
                ));
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(emf: &mut Emf) -> String {
        let mut out = Vec::new();
        emf.write("mooring-Sep10Auth", 1_796_457_600_000, &mut out)
            .expect("write");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn an_http_invocation_is_one_line_of_exact_emf() {
        let mut emf = Emf::new();
        emf.record(Metric::Requests, &[], 1.0);
        emf.record(Metric::ClientErrors, &[], 1.0);
        emf.record(Metric::ServerErrors, &[], 0.0);
        emf.record(Metric::Latency, &[], 12.5);
        assert_eq!(
            written(&mut emf),
            concat!(
                r#"{"_aws":{"Timestamp":1796457600000,"CloudWatchMetrics":[{"Namespace":"Mooring","#,
                r#""Dimensions":[["Function"]],"Metrics":[{"Name":"Requests","Unit":"Count"},"#,
                r#"{"Name":"ClientErrors","Unit":"Count"},{"Name":"ServerErrors","Unit":"Count"},"#,
                r#"{"Name":"Latency","Unit":"Milliseconds"}]}]},"Function":"mooring-Sep10Auth","#,
                r#""Requests":1,"ClientErrors":1,"ServerErrors":0,"Latency":12.5}"#,
                "\n"
            )
        );
        assert!(emf.is_empty(), "written means forgotten");
        assert_eq!(written(&mut emf), "", "nothing recorded, nothing written");
    }

    #[test]
    fn counts_add_up_values_are_kept_and_each_dimension_set_is_a_line() {
        let mut emf = Emf::new();
        emf.record(Metric::QueueLag, &[], 1500.0);
        emf.record(Metric::Redeliveries, &[], 1.0);
        emf.record(Metric::QueueLag, &[], 20.0);
        emf.record(Metric::Redeliveries, &[], 1.0);
        emf.record(
            Metric::TransactionsFinished,
            &[("Kind", "deposit"), ("Outcome", "completed")],
            1.0,
        );
        emf.record(Metric::StellarSubmissions, &[("Outcome", "applied")], 1.0);
        emf.record(
            Metric::TransactionsFinished,
            &[("Kind", "deposit"), ("Outcome", "completed")],
            1.0,
        );
        let text = written(&mut emf);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            concat!(
                r#"{"_aws":{"Timestamp":1796457600000,"CloudWatchMetrics":[{"Namespace":"Mooring","#,
                r#""Dimensions":[["Function"]],"Metrics":[{"Name":"QueueLag","Unit":"Milliseconds"},"#,
                r#"{"Name":"Redeliveries","Unit":"Count"}]}]},"Function":"mooring-Sep10Auth","#,
                r#""QueueLag":[1500,20],"Redeliveries":2}"#
            )
        );
        assert_eq!(
            lines[1],
            concat!(
                r#"{"_aws":{"Timestamp":1796457600000,"CloudWatchMetrics":[{"Namespace":"Mooring","#,
                r#""Dimensions":[["Kind","Outcome"]],"Metrics":[{"Name":"TransactionsFinished","#,
                r#""Unit":"Count"}]}]},"Kind":"deposit","Outcome":"completed","TransactionsFinished":2}"#
            )
        );
        assert_eq!(
            lines[2],
            concat!(
                r#"{"_aws":{"Timestamp":1796457600000,"CloudWatchMetrics":[{"Namespace":"Mooring","#,
                r#""Dimensions":[["Function","Outcome"]],"Metrics":[{"Name":"StellarSubmissions","#,
                r#""Unit":"Count"}]}]},"Function":"mooring-Sep10Auth","Outcome":"applied","#,
                r#""StellarSubmissions":1}"#
            )
        );
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).expect("JSON");
        }
    }

    #[test]
    fn dimension_values_are_escaped_and_bad_values_dropped() {
        let mut emf = Emf::new();
        emf.record(
            Metric::LowestBalance,
            &[("Accounts", "dist\"ribution"), ("Asset", "XLM")],
            1.25,
        );
        emf.record(Metric::Latency, &[], f64::NAN);
        let text = written(&mut emf);
        let line: serde_json::Value = serde_json::from_str(text.trim_end()).expect("JSON");
        assert_eq!(line["Accounts"], "dist\"ribution");
        assert_eq!(line["LowestBalance"], 1.25);
        assert!(line.get("Latency").is_none(), "{text}");
        assert!(line.get("Function").is_none(), "{text}");
    }

    #[test]
    fn the_buffers_are_bounded_and_reused() {
        let mut emf = Emf::new();
        for round in 0..3 {
            for n in 0..(MAX_ENTRIES + 10) {
                let status = format!("s{n}");
                emf.record(Metric::StuckTransactions, &[("Status", &status)], 1.0);
            }
            for _ in 0..(MAX_VALUES + 10) {
                emf.record(Metric::Latency, &[], 1.0);
            }
            let text = written(&mut emf);
            assert_eq!(text.lines().count(), MAX_ENTRIES, "round {round}");
            assert_eq!(emf.entries.len(), MAX_ENTRIES);
        }
        emf.record(Metric::Latency, &[], 3.0);
        emf.record(Metric::Latency, &[], 4.0);
        assert!(written(&mut emf).contains(r#""Latency":[3,4]}"#));
    }

    #[test]
    fn a_recording_keeps_what_its_thread_records() {
        let recording = Recording::start();
        count(Metric::CallbacksDelivered, &[]);
        record(Metric::QueueLag, &[], 7.0);
        count(Metric::CallbacksDelivered, &[]);
        assert_eq!(recording.total(Metric::CallbacksDelivered, &[]), 2.0);
        assert_eq!(recording.total(Metric::QueueLag, &[]), 7.0);
        assert_eq!(recording.recorded().len(), 3);
    }
}
