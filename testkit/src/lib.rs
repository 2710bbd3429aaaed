//! Test support for handler tests: each test gets its own table and KMS key in
//! moto (so tests run in parallel), a clock it controls, a counter of the AWS
//! calls made, and real API Gateway v2 events from `events/`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{DateTime, Duration, TimeZone, Utc};
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde_json::Value;
use shared::app::Clients;
use shared::clock::Clock;
use shared::config::{Config, CookiePolicy, MailConfig};
use shared::crypto::KeySet;
use shared::domain::{ClientInfo, Email, Password, SignIn};
use shared::factors::backup_codes::BackupCodeSet;
use shared::factors::totp::TotpSecret;
use shared::flows::session::{NewSession, Subject};
use shared::store::{Repo, UserRecord, writes};
use shared::{ApiError, App};

pub mod passkey;
pub mod proxy;

pub use shared;

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(instant: DateTime<Utc>) -> Arc<Self> {
        Arc::new(TestClock(Mutex::new(instant)))
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self.0.lock().unwrap() = instant;
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Counts every AWS operation (not attempt) by `service.operation`.
#[derive(Debug, Default, Clone)]
pub struct CallCounter(Arc<Mutex<Vec<String>>>);

impl CallCounter {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    pub fn reset(&self) {
        self.take();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name =
            cfg.load::<Metadata>().map(|m| format!("{}.{}", m.service(), m.name())).unwrap_or_else(|| "unknown".into());
        self.0.lock().unwrap().push(name);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if recording::active() {
            let name = cfg.load::<Metadata>().map(|m| format!("{}.{}", m.service(), m.name())).unwrap_or_default();
            recording::record(&name, context.request().body().bytes().unwrap_or_default());
        }
        Ok(())
    }
}

/// What the AWS calls of a function's handler touched, for the IAM check
/// (`scripts/check_iam.py` compares it with each role in the template). With
/// `AWS_CALLS_DIR` set, every call made while [`call`] (or [`recording::scope`])
/// runs a handler of `functions/<name>` is appended to `<dir>/<name>.jsonl`.
pub mod recording {
    use std::io::Write as _;

    use serde_json::{Value, json};

    tokio::task_local! {
        static HANDLER: ();
    }

    /// Runs `future` (a handler invocation) with its AWS calls recorded. The
    /// function's file exists afterwards even when it made none.
    pub async fn scope<T>(future: impl Future<Output = T>) -> T {
        if let Some(path) = file() {
            std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("create the calls file");
        }
        HANDLER.scope((), future).await
    }

    /// `<AWS_CALLS_DIR>/<function>.jsonl`, when recording is on and a function's tests run.
    fn file() -> Option<std::path::PathBuf> {
        let dir = std::env::var("AWS_CALLS_DIR").ok()?;
        let function = function()?;
        std::fs::create_dir_all(&dir).expect("create AWS_CALLS_DIR");
        Some(std::path::Path::new(&dir).join(format!("{function}.jsonl")))
    }

    pub(crate) fn active() -> bool {
        HANDLER.try_with(|_| ()).is_ok()
    }

    /// The function crate whose tests run: the folder under `functions/`.
    fn function() -> Option<String> {
        let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").ok()?);
        let parent = dir.parent()?.file_name()?.to_str()?;
        (parent == "functions").then(|| dir.file_name()?.to_str().map(str::to_string)).flatten()
    }

    /// `USER#` of `USER#abc`, `KEYRING` of `KEYRING`: what IAM's `dynamodb:LeadingKeys` sees, by shape.
    fn partition(pk: &str) -> String {
        match pk.find('#') {
            Some(i) => pk[..=i].to_string(),
            None => pk.to_string(),
        }
    }

    /// Every partition key value in a DynamoDB request (keys and items: `pk`;
    /// a Query's `:pk`).
    fn partitions(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (name, inner) in map {
                    match (name.as_str(), inner.get("S").and_then(Value::as_str)) {
                        ("pk" | ":pk", Some(pk)) => out.push(partition(pk)),
                        _ => partitions(inner, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| partitions(item, out)),
            _ => {}
        }
    }

    fn describe(call: &str, body: &Value) -> Value {
        let Some((service, operation)) = call.split_once('.') else { return json!({ "call": call }) };
        match service {
            "DynamoDB" => {
                let mut parts = Vec::new();
                if operation == "TransactWriteItems" {
                    for item in body["TransactItems"].as_array().into_iter().flatten() {
                        for (kind, action) in [
                            ("Put", "PutItem"),
                            ("Update", "UpdateItem"),
                            ("Delete", "DeleteItem"),
                            ("ConditionCheck", "ConditionCheckItem"),
                        ] {
                            if let Some(part) = item.get(kind) {
                                let mut found = Vec::new();
                                partitions(part, &mut found);
                                parts.extend(
                                    found
                                        .into_iter()
                                        .map(|p| json!({ "action": format!("dynamodb:{action}"), "partition": p })),
                                );
                            }
                        }
                    }
                } else {
                    let mut found = Vec::new();
                    partitions(body, &mut found);
                    parts.extend(
                        found.into_iter().map(|p| json!({ "action": format!("dynamodb:{operation}"), "partition": p })),
                    );
                }
                let mut actions: Vec<&str> = parts.iter().filter_map(|p| p["action"].as_str()).collect();
                actions.sort();
                actions.dedup();
                let mut partitions: Vec<&str> = parts.iter().filter_map(|p| p["partition"].as_str()).collect();
                partitions.sort();
                partitions.dedup();
                json!({ "call": call, "actions": actions, "partitions": partitions, "parts": parts })
            }
            "KMS" => json!({
                "call": call,
                "action": format!("kms:{operation}"),
                "context": body.get("EncryptionContext").cloned().unwrap_or(Value::Null),
            }),
            "SESv2" => json!({
                "call": call,
                "action": format!("ses:{operation}"),
                "from": body.get("FromEmailAddress").cloned().unwrap_or(Value::Null),
                "configurationSet": body.get("ConfigurationSetName").cloned().unwrap_or(Value::Null),
            }),
            _ => json!({ "call": call }),
        }
    }

    pub(crate) fn record(call: &str, body: &[u8]) {
        let Some(path) = file() else { return };
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let line = format!("{}\n", describe(call, &body));
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("open the calls file");
        // One write per line: appends of a few hundred bytes are not interleaved.
        file.write_all(line.as_bytes()).expect("record the call");
    }
}

fn clients(sdk: &aws_config::SdkConfig, calls: &CallCounter) -> Clients {
    Clients {
        dynamo: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(calls.clone()).build(),
        ),
        kms: aws_sdk_kms::Client::from_conf(aws_sdk_kms::config::Builder::from(sdk).interceptor(calls.clone()).build()),
        ses: aws_sdk_sesv2::Client::from_conf(
            aws_sdk_sesv2::config::Builder::from(sdk).interceptor(calls.clone()).build(),
        ),
    }
}

/// A moment that is not close to a TOTP step boundary, so tests are stable.
pub fn default_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 10).unwrap()
}

/// One isolated environment: its own table and key, a test clock, a counter.
pub struct TestEnv {
    /// The container under test: cold until a test warms it ([`TestEnv::keys`]) or runs a handler.
    pub app: App,
    /// Another container of the same deployment, which the fixtures use (as
    /// the functions that signed the user in would), so that the container
    /// under test loads at its first request what a cold one of its function
    /// loads (and the IAM check sees it).
    pub fixtures: App,
    pub clock: Arc<TestClock>,
    pub calls: CallCounter,
    /// The clients the app uses.
    pub clients: Clients,
    /// Clients straight to moto, to inspect the table and the mail whatever the app's path.
    pub inspect: Clients,
}

impl AsRef<App> for TestEnv {
    fn as_ref(&self) -> &App {
        &self.app
    }
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// The SDK configuration for moto at `AWS_ENDPOINT_URL`, with the production
/// timeouts and retries.
pub async fn moto_sdk_config() -> aws_config::SdkConfig {
    sdk_config_for(&moto_endpoint()).await
}

/// moto's address, from `AWS_ENDPOINT_URL`.
pub fn moto_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("handler tests need moto: run them with `make test`, or start moto and set AWS_ENDPOINT_URL")
    })
}

/// The SDK configuration for an endpoint of the local stack.
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "testkit"))
        .timeout_config(shared::aws::timeouts())
        .retry_config(shared::aws::retries())
        .load()
        .await
}

impl TestEnv {
    pub async fn new() -> Self {
        Self::with_cookie_policy(CookiePolicy { secure: false, same_site: cookie::SameSite::Lax }).await
    }

    pub async fn with_cookie_policy(cookies: CookiePolicy) -> Self {
        Self::build(cookies, &moto_endpoint()).await
    }

    /// An environment whose functions reach moto through `proxy`, which the
    /// test can cut or stall. The table and key are made directly in moto, and
    /// `inspect` stays direct so the test can look at what was written.
    pub async fn behind(proxy: &proxy::FaultProxy) -> Self {
        let env = Self::new().await;
        let clients = clients(&sdk_config_for(&proxy.endpoint()).await, &env.calls);
        let app = App::new(env.app.config.clone(), clients.clone(), env.clock.clone());
        TestEnv { app, clients, ..env }
    }

    /// An environment whose mail (only) goes through `proxy`.
    pub async fn mail_behind(proxy: &proxy::FaultProxy) -> Self {
        let env = Self::new().await;
        let mut clients = env.clients.clone();
        clients.ses = self::clients(&sdk_config_for(&proxy.endpoint()).await, &env.calls).ses;
        let app = App::new(env.app.config.clone(), clients.clone(), env.clock.clone());
        TestEnv { app, clients, ..env }
    }

    /// Another container of the same deployment: same table, key and clients,
    /// its keys not yet unwrapped.
    pub fn cold_container(&self) -> App {
        App::new(self.app.config.clone(), self.clients.clone(), self.clock.clone())
    }

    /// Another container of the same deployment whose AWS calls go through
    /// `proxy` (and are counted), so that a test can hold one request at a
    /// chosen call while others go on.
    pub async fn container_behind(&self, proxy: &proxy::FaultProxy) -> App {
        let clients = clients(&sdk_config_for(&proxy.endpoint()).await, &self.calls);
        App::new(self.app.config.clone(), clients, self.clock.clone())
    }

    /// A proxy in front of this run's moto, and a container of this
    /// deployment behind it, warm (its keys loaded, as after a request).
    pub async fn paused_container(&self) -> (proxy::FaultProxy, App) {
        let proxy = proxy::FaultProxy::start(moto_endpoint().trim_start_matches("http://").to_string()).await;
        let app = self.container_behind(&proxy).await;
        app.keyring.signing_keys_to_sign().await.expect("signing keys");
        app.keyring.keys().await.expect("keyring");
        proxy.take_calls();
        (proxy, app)
    }

    async fn build(cookies: CookiePolicy, endpoint: &str) -> Self {
        let calls = CallCounter::default();
        let clients = clients(&sdk_config_for(endpoint).await, &calls);
        let table = format!(
            "test-{}-{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::Relaxed),
            shared::crypto::random_id()
        );
        shared::store::table::create_table(&clients.dynamo, &table).await.expect("create the test table in moto");
        let key = clients.kms.create_key().send().await.expect("create a KMS key in moto");
        let key_id = key.key_metadata.expect("key metadata").key_id;
        clients.ses.create_email_identity().email_identity(MAIL_FROM).send().await.ok();
        let config = Config {
            table_name: table,
            kms_key_id: key_id,
            issuer: "TwoFA Test".to_string(),
            cookies,
            issuer_url: Some(ISSUER_URL.to_string()),
            audience: "twofa".to_string(),
            allowed_origins: vec![FRONT_END_ORIGIN.to_string()],
            origin_secret: None,
            mail: MailConfig {
                from: MAIL_FROM.to_string(),
                web_base_url: FRONT_END_ORIGIN.to_string(),
                configuration_set: None,
                anonymous_per_minute: shared::config::DEFAULT_ANONYMOUS_MAIL_PER_MINUTE,
            },
            passkeys: shared::config::PasskeyConfig {
                rp_id: "app.example.com".into(),
                origins: vec![FRONT_END_ORIGIN.to_string()],
            },
        };
        let clock = TestClock::at(default_instant());
        // As `authctl init` does at a deployment: the keyring's first keys.
        shared::app::keyring::initialise(
            &clients.kms,
            &Repo::new(clients.dynamo.clone(), &config.table_name),
            &config.kms_key_id,
            clock.clone(),
        )
        .await
        .expect("initialise the keyring");
        let app = App::new(config.clone(), clients.clone(), clock.clone());
        let fixtures = App::new(config, clients.clone(), clock.clone());
        calls.reset();
        TestEnv { app, fixtures, clock, calls, inspect: clients.clone(), clients }
    }

    /// The bytes of every stored attribute value (strings, numbers, binaries,
    /// set members), to prove a secret is nowhere in the table.
    pub async fn stored_values(&self) -> Vec<Vec<u8>> {
        fn walk(value: &aws_sdk_dynamodb::types::AttributeValue, out: &mut Vec<Vec<u8>>) {
            use aws_sdk_dynamodb::types::AttributeValue as V;
            match value {
                V::S(s) | V::N(s) => out.push(s.as_bytes().to_vec()),
                V::B(b) => out.push(b.as_ref().to_vec()),
                V::Ss(set) | V::Ns(set) => out.extend(set.iter().map(|s| s.as_bytes().to_vec())),
                V::Bs(set) => out.extend(set.iter().map(|b| b.as_ref().to_vec())),
                V::L(list) => list.iter().for_each(|v| walk(v, out)),
                V::M(map) => map.values().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for item in self.dump_all().await {
            item.values().for_each(|v| walk(v, &mut out));
        }
        out
    }

    /// Whether `needle` occurs inside any stored value.
    pub async fn table_contains(&self, needle: &[u8]) -> bool {
        self.stored_values().await.iter().any(|value| value.windows(needle.len()).any(|w| w == needle))
    }

    /// The plaintext of the first data key, unwrapped with KMS as a container would.
    pub async fn data_key_plaintext(&self) -> Vec<u8> {
        let entry = self.app.repo.keyring_items().await.unwrap().data_keys.remove(0);
        let out = self
            .inspect
            .kms
            .decrypt()
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(entry.wrapped))
            .encryption_context("purpose", "twofa-keyring")
            .encryption_context("kid", &entry.kid)
            .send()
            .await
            .expect("unwrap the data key");
        out.plaintext.unwrap().into_inner()
    }

    /// Every item in the table but the keyring's (which `authctl init` made
    /// before the test), for assertions about what a use case stored.
    pub async fn dump(&self) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let keyring = |item: &HashMap<_, aws_sdk_dynamodb::types::AttributeValue>| {
            item.get("pk").and_then(|pk| pk.as_s().ok()).is_some_and(|pk| pk == "KEYRING")
        };
        self.dump_all().await.into_iter().filter(|item| !keyring(item)).collect()
    }

    /// Every item in the table, the keyring's included.
    pub async fn dump_all(&self) -> Vec<HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let out = self.inspect.dynamo.scan().table_name(&self.app.config.table_name).send().await.expect("scan");
        out.items.unwrap_or_default()
    }
}

/// The web front end's origin in the test configuration (the `origin` of the sample events).
pub const FRONT_END_ORIGIN: &str = "https://app.example.com";

/// The issuer URL of access tokens in the test configuration.
pub const ISSUER_URL: &str = "https://auth.test.example";

/// The sender of the test configuration's mail (an SES identity in moto).
pub const MAIL_FROM: &str = "no-reply@twofa.example.com";

/// Runs a handler the way the deployed function does: through the origin
/// rule and the invocation's deadline, with its errors mapped.
pub async fn call<F>(app: &impl AsRef<App>, handler: F, req: Request) -> Reply
where
    F: AsyncFnOnce(&App, Request) -> Result<Response<Body>, ApiError>,
{
    let app = app.as_ref();
    Reply(recording::scope(shared::http::process(app, req, |req| handler(app, req))).await)
}

/// Awaits a request that should fail fast when AWS misbehaves, and prints how
/// long it took. The 30-second timeout only guards against a hang.
pub async fn timed(what: &str, request: impl Future<Output = Reply>) -> Reply {
    let started = std::time::Instant::now();
    let reply = tokio::time::timeout(std::time::Duration::from_secs(30), request).await.expect("the request hangs");
    println!("{what}: {} after {:.2} s", reply.status(), started.elapsed().as_secs_f64());
    reply
}

/// A proxy in front of this run's moto, and an environment whose functions reach AWS through it.
pub async fn behind_proxy() -> (proxy::FaultProxy, TestEnv) {
    let proxy = proxy::FaultProxy::start(moto_endpoint().trim_start_matches("http://").to_string()).await;
    let env = TestEnv::behind(&proxy).await;
    (proxy, env)
}

/// A request built from one of the `events/*.json` API Gateway v2 samples.
pub struct Event {
    json: Value,
}

pub fn event(name: &str) -> Event {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    Event { json: serde_json::from_str(&text).expect("event JSON") }
}

impl Event {
    /// Replaces the body with this JSON.
    pub fn json(self, body: Value) -> Self {
        self.raw_body(&body.to_string())
    }

    /// Replaces the body with these exact characters.
    pub fn raw_body(mut self, body: &str) -> Self {
        self.json["body"] = Value::String(body.to_string());
        self
    }

    /// A body API Gateway passes base64-encoded (it is not UTF-8 text).
    pub fn binary_body(mut self, bytes: &[u8]) -> Self {
        use base64::Engine;
        self.json["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(bytes));
        self.json["isBase64Encoded"] = Value::Bool(true);
        self
    }

    /// Sets (or, with `None`, removes) a header.
    pub fn header(mut self, name: &str, value: Option<&str>) -> Self {
        let headers = self.json["headers"].as_object_mut().unwrap();
        match value {
            Some(v) => headers.insert(name.to_lowercase(), Value::String(v.to_string())),
            None => headers.remove(&name.to_lowercase()),
        };
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", Some(&format!("Bearer {token}")))
    }

    /// Replaces the request's cookies (`name=value` pairs).
    pub fn cookies<S: AsRef<str>>(mut self, cookies: &[S]) -> Self {
        self.json["cookies"] = Value::Array(cookies.iter().map(|c| Value::String(c.as_ref().to_string())).collect());
        self
    }

    pub fn cookie(self, name: &str, value: &str) -> Self {
        self.cookies(&[format!("{name}={value}")])
    }

    /// The client's address (as API Gateway sees the connection) and its
    /// `User-Agent` header (which API Gateway copies into the context).
    pub fn source(mut self, ip: &str, user_agent: &str) -> Self {
        self.json["requestContext"]["http"]["sourceIp"] = Value::String(ip.to_string());
        self.json["requestContext"]["http"]["userAgent"] = Value::String(user_agent.to_string());
        self.header("user-agent", Some(user_agent))
    }

    /// What a local emulator puts in the request context, whatever the client sent.
    pub fn context_user_agent(mut self, user_agent: &str) -> Self {
        self.json["requestContext"]["http"]["userAgent"] = Value::String(user_agent.to_string());
        self
    }

    /// The event as API Gateway sends it.
    pub fn to_json(&self) -> String {
        self.json.to_string()
    }

    /// The request as the function receives it, with a Lambda context whose
    /// deadline is 10 seconds away (the template's function timeout).
    pub fn request(&self) -> Request {
        self.request_with_deadline(std::time::Duration::from_secs(10))
    }

    /// The request with its invocation's deadline `time_left` from now.
    pub fn request_with_deadline(&self, time_left: std::time::Duration) -> Request {
        use lambda_http::RequestExt;
        let mut context = lambda_http::Context::default();
        let deadline = std::time::SystemTime::now() + time_left;
        context.deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        context.request_id = "test-invocation".into();
        lambda_http::request::from_str(&self.json.to_string())
            .expect("a valid API Gateway v2 event")
            .with_lambda_context(context)
    }
}

/// A handler's response, with helpers for assertions.
pub struct Reply(pub Response<Body>);

impl Reply {
    pub fn status(&self) -> u16 {
        self.0.status().as_u16()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.0.headers().get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        match self.0.body() {
            Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
            Body::Empty => Value::Null,
            Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
            _ => Value::Null,
        }
    }

    /// The contract's `error` code of an error response.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_string()
    }

    /// Every `Set-Cookie` of the response, parsed.
    pub fn set_cookies(&self) -> Vec<cookie::Cookie<'static>> {
        self.0
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| cookie::Cookie::parse(v.to_str().unwrap().to_string()).unwrap())
            .collect()
    }

    /// The value a `Set-Cookie` gives `name` (empty when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find(|c| c.name() == name).map(|c| c.value().to_string())
    }
}

/// The password of every fixture account.
pub const PASSWORD: &str = "correct horse battery staple";

/// A user with 2FA on, as a test knows it: the authenticator's secret and the backup codes.
pub struct Enrolled {
    pub user: UserRecord,
    pub secret: TotpSecret,
    pub backup_codes: Vec<String>,
    /// The app's factor id.
    pub factor_id: String,
}

impl TestEnv {
    pub fn unix_now(&self) -> u64 {
        self.app.now().timestamp() as u64
    }

    /// The data keys and signing keys of the fixtures' container.
    async fn fixture_keys(&self) -> &KeySet {
        self.fixtures.keyring.keys().await.expect("keyring")
    }

    /// Warms the container under test (its data keys and signing keys loaded, as
    /// after its first request) and returns its data keys.
    pub async fn keys(&self) -> &KeySet {
        self.app.keyring.signing_keys_to_sign().await.expect("signing keys");
        self.app.keyring.keys().await.expect("keyring")
    }

    pub async fn user(&self, user_id: &str) -> UserRecord {
        self.app.repo.user(user_id).await.expect("read user").expect("user exists")
    }

    /// An account with [`PASSWORD`], made the way registration makes it.
    pub async fn register(&self, email: &str) -> UserRecord {
        self.register_with_token(email).await.0
    }

    /// Marks `user`'s email verified, as its verification link would; returns the profile after.
    pub async fn mark_verified(&self, user: &UserRecord) -> UserRecord {
        use aws_sdk_dynamodb::types::AttributeValue as V;
        let key =
            |pk: String, sk: &str| HashMap::from([("pk".to_string(), V::S(pk)), ("sk".to_string(), V::S(sk.into()))]);
        for key in [key(format!("USER#{}", user.id), "PROFILE"), key(format!("EMAIL#{}", user.email.as_str()), "LOGIN")]
        {
            self.inspect
                .dynamo
                .update_item()
                .table_name(&self.app.config.table_name)
                .set_key(Some(key))
                .update_expression("SET emailVerified = :true")
                .expression_attribute_values(":true", V::Bool(true))
                .send()
                .await
                .expect("mark the email verified");
        }
        self.user(&user.id).await
    }

    /// An account with [`PASSWORD`] whose email is verified.
    pub async fn register_verified(&self, email: &str) -> UserRecord {
        let user = self.register(email).await;
        self.mark_verified(&user).await
    }

    /// Makes `user` an admin as `make grant-admin` does (its email verified
    /// first, as the command requires; every session ends); returns the profile after.
    pub async fn grant_admin(&self, user: &UserRecord) -> UserRecord {
        let user = &self.mark_verified(user).await;
        let command = shared::flows::operator::Command::GrantAdmin;
        shared::flows::operator::run(&self.app.repo, &self.app.mailer, self.clock.as_ref(), command, &user.email)
            .await
            .expect("grant admin");
        self.user(&user.id).await
    }

    /// [`TestEnv::register`], and the token its verification mail would carry.
    pub async fn register_with_token(&self, email: &str) -> (UserRecord, shared::mail::MailToken) {
        let email = Email::parse(email).unwrap();
        let password = Password::parse(SecretString::from(PASSWORD.to_string())).unwrap();
        let account = shared::flows::accounts::create(&self.fixtures, &email, &password, &ClientInfo::default())
            .await
            .expect("register");
        (self.user(&account.user_id).await, account.verification)
    }

    /// Turns 2FA on for `user` as a successful enable would, with the last
    /// accepted step a minute back so codes of the current step are fresh.
    pub async fn enroll(&self, user: &UserRecord) -> Enrolled {
        let keys = self.fixture_keys().await;
        let now = self.app.now().timestamp();
        let secret = TotpSecret::generate();
        let sealed = keys.seal_totp_secret(&user.id, secret.bytes());
        self.app.repo.commit(vec![writes::start_setup(user, sealed.clone(), now + 600, None)]).await.expect("setup");
        let codes = BackupCodeSet::generate(keys, &user.id);
        let step = shared::factors::totp::step_at(now as u64) - 2;
        let name = shared::domain::FactorName::parse("Authenticator app").unwrap();
        let app = shared::flows::factors::new_app(&name, sealed.clone(), step, self.app.now().timestamp_millis());
        let factor_id = app.id.clone();
        self.app
            .repo
            .commit(writes::enable_twofa(&self.user(&user.id).await, &app, &sealed, &codes.hashes, now).into())
            .await
            .expect("enable");
        Enrolled { user: self.user(&user.id).await, secret, backup_codes: codes.shown, factor_id }
    }

    /// A software passkey registered for `user` as the passkey routes do it
    /// (options, the authenticator, registration); the first factor turns 2FA
    /// on. Returns the profile after, the authenticator, and the factor's id.
    pub async fn add_passkey(
        &self,
        user: &UserRecord,
        behaviour: passkey::Behaviour,
    ) -> (UserRecord, passkey::SoftPasskey, String) {
        use shared::flows::factors::{new_passkey, passkey_user_handle, stored_passkeys};
        let user = self.user(&user.id).await;
        let now = self.app.now().timestamp();
        let (handle, new_handle) = passkey_user_handle(&user).unwrap();
        let started =
            self.fixtures.passkeys.start_registration(handle, user.email.as_str(), &stored_passkeys(&user)).unwrap();
        let ceremony_id = shared::crypto::random_id();
        let ceremony = shared::store::CeremonyRecord {
            purpose: "registration".into(),
            state: started.state,
            expires_at: now + 300,
            name: None,
        };
        let keep = writes::start_ceremony(&user, &ceremony_id, &ceremony, new_handle.as_deref(), now);
        self.app.repo.commit(vec![keep]).await.expect("keep the ceremony");
        let (soft, response) = passkey::SoftPasskey::register(&started.public_key, FRONT_END_ORIGIN, behaviour);
        let proven =
            self.fixtures.passkeys.finish_registration(&response, &ceremony.state).expect("a valid registration");
        let key = shared::factors::passkey::credential_key(&proven.credential_id);
        let name = shared::domain::FactorName::parse("Passkey").unwrap();
        let factor = new_passkey(&name, proven, self.app.now().timestamp_millis());
        let user = self.user(&user.id).await;
        let keys = self.fixture_keys().await;
        let codes = (!user.twofa_enabled()).then(|| BackupCodeSet::generate(keys, &user.id));
        let first = codes.as_ref().map(|codes| codes.hashes.as_slice());
        self.app.repo.commit(writes::add_passkey(&user, &factor, &key, &ceremony_id, first, now)).await.expect("add");
        (self.user(&user.id).await, soft, factor.id)
    }

    /// A ceremony for proving a passkey of `user`, as `2fa/challenge` makes
    /// it for `purpose`: its id and the request options a browser gets.
    pub async fn passkey_challenge(&self, user: &UserRecord, purpose: &str) -> (String, Value) {
        let user = self.user(&user.id).await;
        let now = self.app.now().timestamp();
        let passkeys = shared::flows::factors::stored_passkeys(&user);
        let started = self.fixtures.passkeys.start_assertion(&passkeys).expect("options");
        let ceremony_id = shared::crypto::random_id();
        let ceremony = shared::store::CeremonyRecord {
            purpose: purpose.into(),
            state: started.state,
            expires_at: now + 300,
            name: None,
        };
        let keep = writes::start_ceremony(&user, &ceremony_id, &ceremony, None, now);
        self.app.repo.commit(vec![keep]).await.expect("keep the ceremony");
        (ceremony_id, started.public_key)
    }

    /// A pending setup for `user`, as the setup route leaves it: returns the
    /// secret the authenticator app scanned.
    pub async fn start_setup(&self, user: &UserRecord) -> TotpSecret {
        let secret = TotpSecret::generate();
        let sealed = self.fixture_keys().await.seal_totp_secret(&user.id, secret.bytes());
        let expires = self.app.now().timestamp() + shared::factors::totp::SETUP_TTL_SECS;
        self.app.repo.commit(vec![writes::start_setup(user, sealed, expires, None)]).await.expect("setup");
        secret
    }

    /// A committed session for `user`, as login or verify-login would open it.
    pub async fn sign_in(&self, user: &UserRecord, sign_in: impl Into<SignIn>) -> NewSession {
        let issuer = self.fixtures.issuer(&event("me").request()).await.expect("keys to issue with");
        let subject = Subject { user_id: &user.id, role: user.role, version: user.version };
        let session = NewSession::issue(
            &self.fixtures,
            &issuer,
            subject,
            sign_in,
            (self.app.now().timestamp(), self.app.now().timestamp()),
            &ClientInfo::default(),
        )
        .expect("a session");
        self.app.repo.commit(vec![session.write()]).await.expect("session");
        session
    }

    /// Remembers a browser for `user` as verify-login would (under the
    /// user's current version, described as `device`); its cookie's value.
    pub async fn remember_device(&self, user: &UserRecord, device: &str) -> String {
        let token = shared::crypto::DeviceToken::generate();
        let now = self.app.now().timestamp();
        let record = shared::store::DeviceRecord {
            user_id: user.id.clone(),
            id: token.id(),
            device: device.to_string(),
            ip: Some("198.51.100.9".into()),
            created_at: now,
            last_used_at: now,
            version: user.version,
            expires_at: now + shared::domain::DEVICE_TTL_SECS,
        };
        self.app.repo.commit(vec![writes::remember_device(&record)]).await.expect("device");
        token.cookie_value().to_string()
    }

    /// Whether an access token is accepted now: valid, its version the
    /// user's, its session live (what every authenticated route checks).
    pub async fn accepted(&self, access_token: &str) -> bool {
        let claims = self.access_claims(access_token).await;
        shared::http::current_session(&self.fixtures, &claims).await.expect("a read").is_some()
    }

    /// A pre-2FA token for `user`, as login hands it out.
    pub async fn pre2fa(&self, user: &UserRecord) -> String {
        let keys = self.fixture_keys().await;
        shared::flows::session::pre2fa_token(&self.fixtures, keys, &user.id, user.version, self.app.now().timestamp()).1
    }

    /// The claims of a pre-2FA token the functions issued (panics if it is not valid now).
    pub async fn pre2fa_claims(&self, token: &str) -> shared::tokens::Pre2faClaims {
        let now = self.app.now().timestamp();
        shared::tokens::verify(self.fixture_keys().await, token, &self.app.config.issuer, now)
            .expect("a valid pre-2FA token")
    }

    /// The claims of an access token the functions issued (panics if it is not valid now).
    pub async fn access_claims(&self, token: &str) -> shared::tokens::AccessClaims {
        shared::http::access_claims(&self.fixtures, &event("me").request(), token).await.expect("a valid access token")
    }

    /// The code an authenticator app shows now.
    pub fn code(&self, secret: &TotpSecret) -> String {
        shared::factors::totp::code_at(secret, self.unix_now())
    }
}

/// A mail that moto's SES accepted (moto keeps the HTML part when there is one).
#[derive(Debug, Clone)]
pub struct SentMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl SentMail {
    /// The link of a link mail: the `href` that carries a token.
    pub fn link(&self) -> Option<String> {
        self.body
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(href, _)| href.replace("&#x23;", "#").replace("&amp;", "&")))
            .find(|href| href.contains("#token="))
    }

    /// The token of a link mail's link (after `#token=`).
    pub fn token(&self) -> Option<String> {
        self.link()?.split_once("#token=").map(|(_, token)| token.to_string())
    }
}

/// Every mail moto's SES accepted to `address`, oldest first, from
/// `GET /moto-api/data.json` (the local stack's record of sent mail).
pub async fn mail_to(address: &str) -> Vec<SentMail> {
    let url = format!("{}/moto-api/data.json", moto_endpoint());
    let data: Value = reqwest::get(&url).await.expect("moto answers").json().await.expect("moto's data is JSON");
    let messages = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
    messages
        .iter()
        .map(|m| SentMail {
            from: m["source"].as_str().unwrap_or_default().to_string(),
            to: m["destinations"]["ToAddresses"]
                .as_array()
                .map(|to| to.iter().filter_map(|a| a.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            subject: m["subject"].as_str().unwrap_or_default().to_string(),
            body: m["body"].as_str().unwrap_or_default().to_string(),
        })
        .filter(|mail| mail.to.iter().any(|to| to == address))
        .collect()
}

/// A unique address for a test that reads mail (tests share one moto).
pub fn unique_email(name: &str) -> String {
    format!("{name}-{}@example.com", shared::crypto::random_id())
}

/// The one notice mail to `address` whose subject ends with `title`, checked
/// as API.md says a notice must be: it says when (`at`), from which IP and
/// user agent (as described), and holds none of `secrets`.
pub async fn one_notice(
    address: &str,
    title: &str,
    at: DateTime<Utc>,
    client: &ClientInfo,
    secrets: &[&str],
) -> SentMail {
    let notices: Vec<SentMail> = mail_to(address).await.into_iter().filter(|m| m.subject.ends_with(title)).collect();
    assert_eq!(notices.len(), 1, "notices {title:?} to {address}: {notices:?}");
    let notice = notices.into_iter().next().unwrap();
    assert!(notice.body.contains(&at.format("%Y-%m-%d %H:%M:%S UTC").to_string()), "no time: {}", notice.body);
    assert!(notice.body.contains(client.ip.as_deref().unwrap_or("operator")), "no IP: {}", notice.body);
    let agent = client.user_agent.as_deref().map_or_else(|| "none".to_string(), shared::domain::describe_agent);
    assert!(notice.body.contains(&agent), "no user agent: {}", notice.body);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(!notice.body.contains(secret) && !notice.subject.contains(secret), "a secret in the notice: {secret}");
    }
    assert!(!notice.body.contains("token="), "a link token in a notice");
    notice
}

/// Runs `future` with its log lines captured (as the function's log would
/// hold them); returns what it returned and the log text.
pub async fn with_logs<T>(future: impl Future<Output = T>) -> (T, String) {
    use tracing::instrument::WithSubscriber;
    let buffer = LogBuffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let output = future.with_subscriber(subscriber).await;
    let logs = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (output, logs)
}

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The last accepted step of `user`'s first authenticator app, for assertions.
pub fn last_step(user: &UserRecord) -> Option<u64> {
    user.factors.iter().find_map(|factor| match &factor.secret {
        shared::store::FactorSecret::Totp { last_step, .. } => *last_step,
        shared::store::FactorSecret::Passkey { .. } => None,
    })
}

/// The `{"ceremonyId", "credential"}` a browser sends for a ceremony, signed
/// by `passkey` (with `tamper` for a broken one).
pub fn passkey_proof(
    passkey: &mut passkey::SoftPasskey,
    ceremony_id: &str,
    public_key: &Value,
    tamper: passkey::Tamper,
) -> Value {
    serde_json::json!({
        "ceremonyId": ceremony_id,
        "credential": passkey.assert(public_key, FRONT_END_ORIGIN, tamper),
    })
}
