//! The floor of every measurement: the smallest lambda_http function (same runtime crates and
//! release profile as Mooring's functions, no telemetry, no state), answering "hello".

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
