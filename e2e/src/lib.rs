//! A small browser-like HTTP client for the end-to-end tests: it keeps cookies
//! per path the way a browser does, so the flows run exactly as a front end
//! would run them against `cargo lambda watch`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Where `make test` serves the API for these tests.
pub fn base_url() -> String {
    std::env::var("E2E_BASE_URL").unwrap_or_else(|_| {
        panic!("end-to-end tests need the local stack: run `make test` (or set E2E_BASE_URL to a running `make dev`)")
    })
}

/// A unique email per test run, so tests never collide on the shared table.
pub fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.com", shared::crypto::random_id())
}

/// Everything stored about one user: the items of its partition and its
/// email's login item, in key order. For "this changed nothing" checks.
pub async fn stored_state(user_id: &str, email: &str) -> Vec<HashMap<String, AttributeValue>> {
    let config = shared::config::Config::from_env().expect("the local stack's TABLE_NAME and KMS_KEY_ID");
    let client = aws_sdk_dynamodb::Client::new(&shared::aws::sdk_config().await);
    let partition = client
        .query()
        .table_name(&config.table_name)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(format!("USER#{user_id}")))
        .consistent_read(true)
        .send()
        .await
        .expect("query the local table");
    let login = client
        .get_item()
        .table_name(&config.table_name)
        .key("pk", AttributeValue::S(format!("EMAIL#{email}")))
        .key("sk", AttributeValue::S("LOGIN".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("read the login item");
    partition.items.unwrap_or_default().into_iter().chain(login.item).collect()
}

/// One client: a cookie jar keyed by (name, path).
pub struct Browser {
    http: reqwest::Client,
    base: String,
    jar: BTreeMap<(String, String), String>,
}

/// A response, read once.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Page {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The raw `Set-Cookie` lines.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser { http: reqwest::Client::new(), base: base_url(), jar: BTreeMap::new() }
    }

    /// The current value of a cookie the server set, whatever its path.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.iter().find(|((n, _), _)| n == name).map(|(_, v)| v.clone())
    }

    pub fn set_cookie(&mut self, name: &str, path: &str, value: &str) {
        self.jar.insert((name.to_string(), path.to_string()), value.to_string());
    }

    pub fn forget_cookies(&mut self) {
        self.jar.clear();
    }

    pub async fn post(&mut self, path: &str, body: Option<Value>) -> Page {
        self.send(Method::POST, path, body, &[]).await
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn send(&mut self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Page {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        let cookies: Vec<String> = self
            .jar
            .iter()
            .filter(|((_, cookie_path), _)| path.starts_with(cookie_path.as_str()))
            .map(|((name, _), value)| format!("{name}={value}"))
            .collect();
        if !cookies.is_empty() {
            request = request.header("cookie", cookies.join("; "));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the local API answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        for line in headers.get_all("set-cookie") {
            let cookie = cookie::Cookie::parse(line.to_str().unwrap().to_string()).expect("a valid Set-Cookie");
            let key = (cookie.name().to_string(), cookie.path().unwrap_or("/").to_string());
            if cookie.value().is_empty() || cookie.max_age() == Some(cookie::time::Duration::ZERO) {
                self.jar.remove(&key);
            } else {
                self.jar.insert(key, cookie.value().to_string());
            }
        }
        Page { status, headers, body }
    }
}
