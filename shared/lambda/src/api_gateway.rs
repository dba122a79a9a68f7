//! API Gateway HTTP API (payload format 2.0) events to `http` requests and back, with
//! lambda_http's conversions where they are public.

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use lambda_http::{Body, Request, Response};

use crate::Error;

/// The request an API Gateway event carries.
pub fn request(payload: &[u8]) -> Result<Request, Error> {
    let text = std::str::from_utf8(payload)
        .map_err(|error| format!("the API Gateway event is not UTF-8: {error}"))?;
    lambda_http::request::from_str(text)
        .map_err(|error| format!("not an API Gateway HTTP API event: {error}").into())
}

/// The event answering a request: API Gateway wants `Set-Cookie` values in `cookies`, other
/// headers (repeated ones joined with commas) in `headers`, and a binary body in base64.
pub fn answer(response: Response<Body>) -> Result<Vec<u8>, Error> {
    let (parts, body) = response.into_parts();
    let mut headers = parts.headers;
    let cookies = headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();
    headers.remove(http::header::SET_COOKIE);
    let mut event = ApiGatewayV2httpResponse::default();
    event.status_code = i64::from(parts.status.as_u16());
    event.headers = headers;
    event.cookies = cookies;
    (event.is_base64_encoded, event.body) = match body {
        Body::Empty => (false, None),
        text @ Body::Text(_) => (false, Some(text)),
        binary @ Body::Binary(_) => (true, Some(binary)),
        _ => (false, None),
    };
    Ok(serde_json::to_vec(&event)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{
        "version": "2.0",
        "routeKey": "GET /sep24/transactions",
        "rawPath": "/sep24/transactions",
        "rawQueryString": "asset_code=USDC&limit=3",
        "cookies": ["session=abc"],
        "headers": {"host": "anchor.example", "authorization": "Bearer t"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "anchor.example",
            "domainPrefix": "anchor", "requestId": "r", "routeKey": "GET /sep24/transactions",
            "stage": "$default", "time": "05/Dec/2026:08:00:00 +0000", "timeEpoch": 1796457600000,
            "http": {"method": "GET", "path": "/sep24/transactions", "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "curl"}
        },
        "isBase64Encoded": false
    }"#;

    #[test]
    fn an_event_becomes_the_request_it_carries() {
        let request = request(EVENT.as_bytes()).expect("request");
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(request.uri().path(), "/sep24/transactions");
        assert_eq!(request.uri().query(), Some("asset_code=USDC&limit=3"));
        assert_eq!(request.headers()["authorization"], "Bearer t");
        assert_eq!(request.headers()["cookie"], "session=abc");
    }

    #[test]
    fn a_payload_that_is_no_event_is_an_error() {
        assert!(request(b"\xff\xfe").is_err());
        assert!(request(b"{\"no\": \"event\"}").is_err());
    }

    #[test]
    fn an_answer_carries_status_headers_cookies_and_body() {
        let response = Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .header("set-cookie", "a=1; HttpOnly")
            .header("set-cookie", "b=2")
            .body(Body::Text("{\"id\":\"x\"}".into()))
            .expect("response");
        let event: serde_json::Value =
            serde_json::from_slice(&answer(response).expect("answer")).expect("JSON");
        assert_eq!(event["statusCode"], 201);
        assert_eq!(event["headers"]["content-type"], "application/json");
        assert!(event["headers"].get("set-cookie").is_none(), "{event}");
        assert_eq!(
            event["cookies"],
            serde_json::json!(["a=1; HttpOnly", "b=2"])
        );
        assert_eq!(event["body"], "{\"id\":\"x\"}");
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn a_binary_body_is_sent_in_base64() {
        let response = Response::new(Body::Binary(vec![0, 159, 146, 150]));
        let event: serde_json::Value =
            serde_json::from_slice(&answer(response).expect("answer")).expect("JSON");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "AJ+Slg==");
    }
}
