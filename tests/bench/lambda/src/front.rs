//! The HTTP API front: an HTTP request as API Gateway's HTTP API hands it to a function
//! (payload format 2.0), and the function's answer back as an HTTP response.

use base64::Engine;
use serde_json::{json, Map, Value};

#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    pub method: &'static str,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

impl HttpRequest {
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET",
            path: path.to_owned(),
            ..Self::default()
        }
    }

    pub fn with_query(mut self, query: &[(&str, &str)]) -> Self {
        self.query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        self
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn with_json(mut self, method: &'static str, body: &Value) -> Self {
        self.method = method;
        self.body = Some(body.to_string());
        self.with_header("content-type", "application/json")
    }
}

/// The event of `request`, the `sequence`-th of its environment.
pub fn event(request: &HttpRequest, sequence: u64) -> Vec<u8> {
    let mut headers = Map::new();
    for (name, value) in &request.headers {
        headers.insert(name.clone(), Value::String(value.clone()));
    }
    if let Some(body) = &request.body {
        headers.insert(
            "content-length".into(),
            Value::String(body.len().to_string()),
        );
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "bench",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "lambda-bench"
            },
            "requestId": format!("front-{sequence}"),
            "routeKey": "$default",
            "stage": "$default",
            "time": "05/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1_796_428_800_000u64
        },
        "isBase64Encoded": false
    });
    if !request.query.is_empty() {
        let parameters: Map<String, Value> = form_urlencoded::parse(request.query.as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if let Some(body) = &request.body {
        event["body"] = Value::String(body.clone());
    }
    serde_json::to_vec(&event).unwrap_or_default()
}

/// The HTTP response a function's answer stands for.
pub fn response(answer: &[u8]) -> Result<HttpResponse, String> {
    let answer: Value = serde_json::from_slice(answer)
        .map_err(|error| format!("the answer is not JSON: {error}"))?;
    let status = answer["statusCode"].as_u64().ok_or("no statusCode")? as u16;
    let body = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|error| format!("body: {error}"))?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        body.to_owned()
    };
    Ok(HttpResponse { status, body })
}
