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

/// The web front end's origin on the relying party's host (`localhost`:
/// browsers refuse WebAuthn on an IP address): the first origin of the
/// stack's `ALLOWED_ORIGINS` (`E2E_ALLOWED_ORIGINS`) whose host is
/// `localhost`. Passkey ceremonies run there, and its requests carry it as `Origin`.
pub fn front_end_origin() -> String {
    let allowed = std::env::var("E2E_ALLOWED_ORIGINS").expect("E2E_ALLOWED_ORIGINS: the stack's ALLOWED_ORIGINS");
    allowed
        .split(',')
        .map(str::trim)
        .find(|origin| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .is_some_and(|rest| rest == "localhost" || rest.starts_with("localhost:"))
        })
        .unwrap_or_else(|| panic!("no allowed origin on localhost in {allowed:?}"))
        .to_string()
}

/// A user as v3 lets them turn 2FA on: registered with `email` and
/// `password`, the address verified by the token of the sign-up mail
/// (`POST /auth/email/verify`), then signed in with the password, so the
/// session's proof is recent. Returns the login's `User`.
pub async fn verified_and_signed_in(browser: &mut Browser, email: &str, password: &str) -> Value {
    let created =
        browser.post("/auth/register", Some(serde_json::json!({ "email": email, "password": password }))).await;
    assert_eq!(created.status, 201, "register: {:?}", created.body);
    let mails = testkit::mail_to(email).await;
    let tokens: Vec<String> = mails.iter().filter_map(testkit::SentMail::token).collect();
    assert_eq!(tokens.len(), 1, "one verification mail to {email}: {mails:?}");
    let verified = browser.post("/auth/email/verify", Some(serde_json::json!({ "token": tokens[0] }))).await;
    assert_eq!((verified.status.as_u16(), &verified.body["message"]), (200, &Value::from("email verified")));
    let login = browser.post("/auth/login", Some(serde_json::json!({ "email": email, "password": password }))).await;
    assert_eq!(login.status, 200, "login: {:?}", login.body);
    assert_eq!(
        (&login.body["requires2FA"], &login.body["user"]["emailVerified"]),
        (&Value::Bool(false), &Value::Bool(true))
    );
    login.body["user"].clone()
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

/// The claims of a JWT, read without checking it (the server checks it).
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// One client: a cookie jar keyed by (name, path), and the `Origin` its
/// requests carry when it is a page of the front end.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    jar: BTreeMap<(String, String), String>,
    origin: Option<String>,
}

/// A response, read once.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Page {
    /// The types of the events of a `GET /auth/audit` answer, newest first.
    pub fn event_types(&self) -> Vec<String> {
        self.body["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
    }

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
        Browser { http: reqwest::Client::new(), base: base_url(), jar: BTreeMap::new(), origin: None }
    }

    /// A browser on the web front end ([`front_end_origin`]): every request
    /// carries its `Origin`, as a page's `fetch` does.
    pub fn on_front_end() -> Self {
        Browser { origin: Some(front_end_origin()), ..Self::new() }
    }

    /// The claims of the current access token, read without checking it (the server checks it).
    pub fn access_claims(&self) -> Value {
        jwt_claims(&self.cookie("access_token").expect("an access token"))
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
        if let Some(origin) = &self.origin
            && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("origin"))
        {
            request = request.header("origin", origin);
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
