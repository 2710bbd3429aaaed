//! The per-container state every function is built from, and the runner.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, service_fn};

use super::keyring::Keyring;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::{KeySet, SigningKeys};
use crate::error::ApiError;
use crate::mail::Mailer;
use crate::repo::Repo;

/// Built once per container: configuration, AWS clients, the keyring cache, the clock.
pub struct App {
    pub config: Config,
    pub repo: Repo,
    pub keyring: Keyring,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
}

/// The AWS clients a function uses.
#[derive(Clone)]
pub struct Clients {
    pub dynamo: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub ses: aws_sdk_sesv2::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Clients {
            dynamo: aws_sdk_dynamodb::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            ses: aws_sdk_sesv2::Client::new(sdk),
        }
    }
}

impl AsRef<App> for App {
    fn as_ref(&self) -> &App {
        self
    }
}

impl App {
    pub fn new(config: Config, clients: Clients, clock: Arc<dyn Clock>) -> Self {
        let repo = Repo::new(clients.dynamo, config.table_name.clone());
        let keyring = Keyring::new(clients.kms, repo.clone(), config.kms_key_id.clone(), clock.clone());
        let mailer = Mailer::new(clients.ses, config.mail.clone(), config.issuer.clone());
        App { config, repo, keyring, mailer, clock }
    }

    /// Configuration from the environment, clients from the standard SDK chain.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let sdk = crate::aws::sdk_config().await;
        Ok(App::new(config, Clients::new(&sdk), Arc::new(SystemClock)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The issuer URL of access tokens at this request: `ISSUER_URL`, or the
    /// API's own https base URL, from the domain API Gateway received the
    /// request on (not a client's header), so the template needs no
    /// reference from the functions to their own API.
    pub fn issuer_url(&self, req: &Request) -> Result<String, ApiError> {
        if let Some(url) = &self.config.issuer_url {
            return Ok(url.clone());
        }
        match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.domain_name.as_ref().map(|d| format!("https://{d}")),
            _ => None,
        }
        .ok_or_else(|| ApiError::internal("ISSUER_URL is not set and the request names no API domain"))
    }

    /// Everything issuing access tokens takes at this request.
    pub async fn issuer(&self, req: &Request) -> Result<Issuer<'_>, ApiError> {
        let keys = self.keyring.keys().await?;
        let signing = self.keyring.signing_keys_to_sign().await?;
        Ok(Issuer { keys, signing, url: self.issuer_url(req)? })
    }
}

/// The data keys, the signing keys and the issuer URL of one request.
pub struct Issuer<'a> {
    pub keys: &'a KeySet,
    pub signing: Arc<SigningKeys>,
    pub url: String,
}

/// Runs a function: logging, the state built once, then every request through
/// [`process`] and `handler`.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'static,
{
    lambda_http::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    let cold = AtomicBool::new(true);
    lambda_http::run(service_fn(|req| {
        let cold_start = cold.swap(false, Ordering::Relaxed);
        let handler = handler.clone();
        async move {
            if cold_start {
                tracing::info!(cold_start, "first invocation of this container");
            }
            Ok::<_, Infallible>(process(app, req, |req| handler(app, req)).await)
        }
    }))
    .await
}

/// What every request goes through around its handler: a request that went
/// around CloudFront (when the API sits behind it) and a cross-site `POST`
/// are refused first; the handler gets until shortly before the invocation's
/// deadline, then the client gets a `503` from us rather than a dead function
/// (every use case commits in one write, so a cut-off one wrote nothing, or
/// all of it); errors become the contract's responses.
pub async fn process<H, Fut>(app: &App, req: Request, handler: H) -> Response<Body>
where
    H: FnOnce(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let req = match crate::http::through_front_door(&app.config, req) {
        Ok(req) => req,
        Err(refused) => return crate::http::error_response(refused),
    };
    if let Err(refused) = crate::http::check_origin(&app.config, &req) {
        return crate::http::error_response(refused);
    }
    let budget = time_left(&req).saturating_sub(RESPONSE_MARGIN);
    let result = match tokio::time::timeout(budget, handler(req)).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::unavailable(format!("no answer within the invocation's {} ms", budget.as_millis()))),
    };
    crate::http::respond(result)
}

/// Kept back from the invocation's deadline to send the answer.
pub const RESPONSE_MARGIN: Duration = Duration::from_millis(500);

/// The budget when the context gives no usable deadline: the template's
/// function timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The time until the invocation's deadline, from the Lambda context. Lambda
/// always sends a deadline in the future; one already past on arrival is not
/// a real one (`cargo lambda watch` sends its ten-minute timeout, 600000, as
/// if it were a time), and the default applies.
fn time_left(req: &Request) -> Duration {
    req.lambda_context_ref()
        .and_then(|context| context.deadline().duration_since(SystemTime::now()).ok())
        .unwrap_or(DEFAULT_TIMEOUT)
}
