//! The SQS adapter of the queue port, against the emulator that `tests/run.sh` starts (the queues
//! of template.yaml, created by `infra/local_stack/tables.py`). Without the emulator's variables
//! the test is skipped, except under CI, where skipping would hide a broken setup.
#![cfg(feature = "sqs")]

use aws_config::Region;
use mooring::model::Kind;
use mooring::queue::sqs::SqsQueue;
use mooring::queue::{Queue, QueueError, QueueMessage};

fn emulator() -> Option<(String, String)> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (
        var("MOORING_TEST_DYNAMODB_ENDPOINT"),
        var("MOORING_TEST_OUTGOING_QUEUE_URL"),
    ) {
        (Some(endpoint), Some(url)) => Some((endpoint, url)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but MOORING_TEST_DYNAMODB_ENDPOINT / MOORING_TEST_OUTGOING_QUEUE_URL are not: run tests/run.sh")
        }
        _ => {
            eprintln!("skipped: no SQS emulator (tests/run.sh provides one)");
            None
        }
    }
}

async fn client(endpoint: &str) -> aws_sdk_sqs::Client {
    let sdk = mooring::aws::config_loader()
        .expect("AWS settings")
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    aws_sdk_sqs::Client::new(&sdk)
}

#[tokio::test]
async fn sent_messages_arrive_as_json_naming_the_transaction() {
    let Some((endpoint, url)) = emulator() else {
        return;
    };
    let client = client(&endpoint).await;
    client.purge_queue().queue_url(&url).send().await.ok();
    let queue = SqsQueue::new(client.clone(), &url);
    let message = QueueMessage::new("tx-1234", Kind::Receive);
    queue.send(&message).await.expect("send");

    let received = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .expect("receive");
    let bodies: Vec<QueueMessage> = received
        .messages()
        .iter()
        .map(|m| QueueMessage::from_json(m.body().unwrap_or_default()).expect("a queue message"))
        .collect();
    assert!(bodies.contains(&message), "{bodies:?}");
}

#[tokio::test]
async fn an_unreachable_queue_is_unavailable() {
    // Port 9 (discard) has nothing listening: the send fails fast and says so.
    let client = client("http://127.0.0.1:9").await;
    let queue = SqsQueue::new(client, "http://127.0.0.1:9/000000000000/nothing");
    let error = queue
        .send(&QueueMessage::new("tx", Kind::Receive))
        .await
        .unwrap_err();
    assert!(matches!(error, QueueError::Unavailable(_)), "{error:?}");
}
