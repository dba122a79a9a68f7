//! The deployed stack: its resources from CloudFormation (logical id → physical name), and the
//! AWS adapters built on them (the DynamoDB store, the SQS queues, the dead-letter queues, the
//! Stellar submitter's settings).

use std::collections::BTreeMap;
use std::fmt::Display;

use aws_config::SdkConfig;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use mooring::lifecycle::operator::{DeadLetter, DeadLetterQueue};
use mooring::queue::sqs::SqsQueue;
use mooring::queue::QueueError;
use mooring::store::dynamodb::{DynamoStore, TableNames};

use crate::AdminError;

/// The logical ids of the template (template.yaml) this console uses.
pub const TRANSACTIONS_TABLE: &str = "TransactionsTable";
pub const CUSTOMERS_TABLE: &str = "CustomersTable";
pub const CHALLENGES_TABLE: &str = "ChallengesTable";
pub const WORKER_STATE_TABLE: &str = "WorkerStateTable";
pub const PAYMENTS_TABLE: &str = "PaymentsTable";
pub const QUOTES_TABLE: &str = "QuotesTable";
pub const SUBMISSIONS_QUEUE: &str = "SubmissionsQueue";
pub const WITHDRAWALS_QUEUE: &str = "WithdrawalsQueue";
pub const OUTGOING_QUEUE: &str = "OutgoingPaymentsQueue";
pub const SUBMITTER_FUNCTION: &str = "StellarSubmitterFunction";
/// A dead-letter queue is `<Name>DeadLetterQueue`, the queue it serves `<Name>Queue`.
const DEAD_LETTER_SUFFIX: &str = "DeadLetterQueue";
const SQS_QUEUE: &str = "AWS::SQS::Queue";

/// One resource of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `AWS::DynamoDB::Table`, ...
    pub kind: String,
    /// The table name, queue URL, function name, ...
    pub physical: String,
}

/// The stack's resources by logical id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub stack: String,
    by_logical: BTreeMap<String, Resource>,
}

/// A dead-letter queue and the queue its messages came from (by the template's naming).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterPair {
    /// `submissions`, `withdrawals`, `outgoing-payments`, ...
    pub name: String,
    pub dead_letter: String,
    pub source: Option<String>,
}

impl Resources {
    /// From (logical id, type, physical id) triples.
    pub fn new(stack: &str, resources: impl IntoIterator<Item = (String, String, String)>) -> Self {
        Self {
            stack: stack.to_owned(),
            by_logical: resources
                .into_iter()
                .map(|(logical, kind, physical)| (logical, Resource { kind, physical }))
                .collect(),
        }
    }

    /// The physical id of `logical`, or an error naming what is missing.
    pub fn physical(&self, logical: &str) -> Result<&str, AdminError> {
        self.optional(logical).ok_or_else(|| {
            AdminError::Stack(format!(
                "stack {} has no resource {logical}: is it a Mooring stack, deployed from this \
                 version of template.yaml?",
                self.stack
            ))
        })
    }

    fn optional(&self, logical: &str) -> Option<&str> {
        self.by_logical
            .get(logical)
            .map(|r| r.physical.as_str())
            .filter(|p| !p.is_empty())
    }

    /// The tables, as the functions get them from their environment.
    pub fn table_names(&self) -> Result<TableNames, AdminError> {
        let optional = |logical| self.optional(logical).map(str::to_owned);
        Ok(TableNames {
            transactions: self.physical(TRANSACTIONS_TABLE)?.to_owned(),
            customers: self.physical(CUSTOMERS_TABLE)?.to_owned(),
            challenges: self.physical(CHALLENGES_TABLE)?.to_owned(),
            worker_state: optional(WORKER_STATE_TABLE),
            payments: optional(PAYMENTS_TABLE),
            quotes: optional(QUOTES_TABLE),
        })
    }

    /// Every dead-letter queue of the stack, by name.
    pub fn dead_letter_queues(&self) -> Vec<DeadLetterPair> {
        self.by_logical
            .iter()
            .filter(|(_, r)| r.kind == SQS_QUEUE)
            .filter_map(|(logical, r)| {
                let stem = logical.strip_suffix(DEAD_LETTER_SUFFIX)?;
                Some(DeadLetterPair {
                    name: kebab(stem),
                    dead_letter: r.physical.clone(),
                    source: self.optional(&format!("{stem}Queue")).map(str::to_owned),
                })
            })
            .collect()
    }
}

/// `OutgoingPayments` → `outgoing-payments`.
fn kebab(stem: &str) -> String {
    let mut name = String::new();
    for (i, c) in stem.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('-');
        }
        name.extend(c.to_lowercase());
    }
    name
}

/// What went wrong in an AWS call, in one line: the service's code and message, or the
/// causes' own words (the SDK's debug forms go to the log only).
fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    tracing::debug!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "AWS call failed");
    let text = match error {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => causes(e),
            }
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => {
            format!(
                "AWS cannot be reached (AWS_ENDPOINT_URL, network): {}",
                causes(error)
            )
        }
        SdkError::TimeoutError(_) => "timed out".to_owned(),
        other => causes(other),
    };
    // The credential chain lists every provider it tried, a line each: the first says it.
    let mut text: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(400)
        .collect();
    if text.contains("no credentials") {
        text.push_str(
            " (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: test and test \
             for the local stack)",
        );
    }
    text
}

/// An error and its sources, by their `Display`, `: `-separated.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

fn aws_error<E, R>(what: impl Display, error: SdkError<E, R>) -> AdminError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    AdminError::Aws(format!("{what}: {}", describe(&error)))
}

/// The stack's resources (ListStackResources: DescribeStackResources answers only the first
/// 100, and a Mooring stack has more).
pub async fn resources(sdk: &SdkConfig, stack: &str) -> Result<Resources, AdminError> {
    if sdk.region().is_none() {
        return Err(AdminError::Usage(
            "no AWS region: set AWS_REGION (us-east-1 for the local stack) or a profile's region"
                .into(),
        ));
    }
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .list_stack_resources()
            .stack_name(stack)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| aws_error(format!("the resources of stack {stack}"), e))?;
        all.extend(page.stack_resource_summaries().iter().map(|r| {
            (
                r.logical_resource_id().unwrap_or_default().to_owned(),
                r.resource_type().unwrap_or_default().to_owned(),
                r.physical_resource_id().unwrap_or_default().to_owned(),
            )
        }));
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_owned()),
            _ => break,
        }
    }
    if all.is_empty() {
        return Err(AdminError::Stack(format!("stack {stack} has no resources")));
    }
    Ok(Resources::new(stack, all))
}

/// Every storage port on the stack's tables.
pub fn store(sdk: &SdkConfig, resources: &Resources) -> Result<DynamoStore, AdminError> {
    Ok(DynamoStore::new(
        mooring::aws::dynamodb_client(sdk),
        resources.table_names()?,
    ))
}

/// The SQS client of the console.
pub fn sqs(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    mooring::aws::sqs_client(sdk)
}

/// A queue's URL from its physical id (a URL on AWS and on the local emulator; a name is
/// looked up).
pub async fn queue_url(client: &aws_sdk_sqs::Client, physical: &str) -> Result<String, AdminError> {
    if physical.starts_with("https://") || physical.starts_with("http://") {
        return Ok(physical.to_owned());
    }
    let out = client
        .get_queue_url()
        .queue_name(physical)
        .send()
        .await
        .map_err(|e| aws_error(format!("the URL of queue {physical}"), e))?;
    out.queue_url()
        .map(str::to_owned)
        .ok_or_else(|| AdminError::Aws(format!("queue {physical} has no URL")))
}

/// The worker queue `logical`.
pub async fn worker_queue(
    client: &aws_sdk_sqs::Client,
    resources: &Resources,
    logical: &str,
) -> Result<SqsQueue, AdminError> {
    let url = queue_url(client, resources.physical(logical)?).await?;
    Ok(SqsQueue::new(client.clone(), url))
}

/// The environment of the Stellar submitter's function (GetFunctionConfiguration): the
/// settings `balances` reads the anchor's accounts from. It holds seeds: it is handed to
/// `anchor_accounts` and dropped, never printed.
pub async fn submitter_settings(
    sdk: &SdkConfig,
    resources: &Resources,
) -> Result<BTreeMap<String, String>, AdminError> {
    let function = resources.physical(SUBMITTER_FUNCTION)?;
    let out = aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| aws_error(format!("the configuration of function {function}"), e))?;
    Ok(out
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// A dead-letter queue and its source on SQS.
pub struct SqsDeadLetters {
    client: aws_sdk_sqs::Client,
    dead_letter: String,
    source: String,
}

/// How long a received dead letter stays hidden: a redrive that dies midway lets its
/// messages be seen again soon.
const VISIBILITY_SECS: i32 = 60;

impl SqsDeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, dead_letter: String, source: String) -> Self {
        Self {
            client,
            dead_letter,
            source,
        }
    }
}

fn queue_error<E, R>(what: &str, error: SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    QueueError::Unavailable(format!("{what}: {}", describe(&error)))
}

impl DeadLetterQueue for SqsDeadLetters {
    async fn depth(&self) -> Result<u64, QueueError> {
        let name = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.dead_letter)
            .attribute_names(name.clone())
            .send()
            .await
            .map_err(|e| queue_error("GetQueueAttributes", e))?;
        let depth = out
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(depth)
    }

    async fn receive(&self, max: u32) -> Result<Vec<DeadLetter>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.dead_letter)
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .visibility_timeout(VISIBILITY_SECS)
            // A short long-poll: an empty answer then means the queue is empty, not that the
            // sampled servers had nothing.
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| queue_error("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                Some(DeadLetter {
                    body: m.body()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                })
            })
            .collect())
    }

    async fn send_to_source(&self, body: &str) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.source)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| queue_error("SendMessage", e))
    }

    async fn delete(&self, letter: &DeadLetter) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.dead_letter)
            .receipt_handle(&letter.receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| queue_error("DeleteMessage", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template_resources() -> Resources {
        let r = |logical: &str, kind: &str, physical: &str| {
            (logical.to_owned(), kind.to_owned(), physical.to_owned())
        };
        let table = "AWS::DynamoDB::Table";
        let url = |name: &str| format!("http://127.0.0.1:4570/000000000000/mooring-{name}");
        Resources::new(
            "mooring",
            [
                r(TRANSACTIONS_TABLE, table, "mooring-TransactionsTable-1"),
                r(CUSTOMERS_TABLE, table, "mooring-CustomersTable-1"),
                r(CHALLENGES_TABLE, table, "mooring-ChallengesTable-1"),
                r(PAYMENTS_TABLE, table, "mooring-PaymentsTable-1"),
                r(SUBMISSIONS_QUEUE, SQS_QUEUE, &url("Submissions")),
                r(
                    "SubmissionsDeadLetterQueue",
                    SQS_QUEUE,
                    &url("SubmissionsDLQ"),
                ),
                r(OUTGOING_QUEUE, SQS_QUEUE, &url("Outgoing")),
                r(
                    "OutgoingPaymentsDeadLetterQueue",
                    SQS_QUEUE,
                    &url("OutgoingDLQ"),
                ),
                r("OrphanDeadLetterQueue", SQS_QUEUE, &url("Orphan")),
                r(
                    "SubmissionsDeadLetterAlarm",
                    "AWS::CloudWatch::Alarm",
                    "alarm",
                ),
                r(
                    SUBMITTER_FUNCTION,
                    "AWS::Lambda::Function",
                    "mooring-submitter",
                ),
            ],
        )
    }

    #[test]
    fn tables_come_from_the_stacks_logical_ids() {
        let names = template_resources().table_names().expect("names");
        assert_eq!(names.transactions, "mooring-TransactionsTable-1");
        assert_eq!(names.payments.as_deref(), Some("mooring-PaymentsTable-1"));
        assert_eq!((names.worker_state, names.quotes), (None, None));
        let partial = Resources::new(
            "other",
            [(
                TRANSACTIONS_TABLE.to_owned(),
                "AWS::DynamoDB::Table".to_owned(),
                "t".to_owned(),
            )],
        );
        let error = partial.table_names().expect_err("incomplete").to_string();
        assert!(
            error.contains("stack other has no resource CustomersTable"),
            "{error}"
        );
    }

    #[test]
    fn dead_letter_queues_pair_with_their_source_by_name() {
        let pairs = template_resources().dead_letter_queues();
        let named: Vec<(&str, bool)> = pairs
            .iter()
            .map(|p| (p.name.as_str(), p.source.is_some()))
            .collect();
        assert_eq!(
            named,
            [
                ("orphan", false),
                ("outgoing-payments", true),
                ("submissions", true)
            ]
        );
        assert!(pairs[2]
            .source
            .as_deref()
            .is_some_and(|s| s.ends_with("mooring-Submissions")));
        assert!(pairs[2].dead_letter.ends_with("SubmissionsDLQ"));
    }
}
