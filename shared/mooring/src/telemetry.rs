//! Logging: JSON lines in Lambda (CloudWatch), readable text elsewhere; level from `RUST_LOG`.

/// Installs the global tracing subscriber once, at cold start.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let result = if in_lambda {
        // CloudWatch adds its own timestamp.
        builder
            .json()
            .without_time()
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
    // A second call (tests, the local gateway) keeps the first subscriber.
    drop(result);
}

/// Names the transaction a request is about on the request's span (declared by the Lambda glue
/// with an empty `transaction_id`), so every line the request logs carries it. Outside such a
/// span it does nothing.
pub fn record_transaction_id(id: &str) {
    tracing::Span::current().record("transaction_id", id);
}

/// The X-Ray trace header of the invocation in progress, which the AWS adapters send as
/// `X-Amzn-Trace-Id` on every call (`aws::TraceHeader`). One buffer, overwritten in place: a
/// per-invocation environment variable (lambda_runtime's way) grows the process without bound.
static TRACE_ID: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Sets the trace header of the invocation about to run (`None`: no trace).
pub fn set_trace_id(trace_id: Option<&str>) {
    let mut slot = TRACE_ID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    slot.clear();
    slot.push_str(trace_id.unwrap_or_default());
}

/// Runs `f` with the current invocation's trace header, if there is one.
pub fn with_trace_id<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    let slot = TRACE_ID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(Some(slot.as_str()).filter(|trace_id| !trace_id.is_empty()))
}
