//! The per-container state every function is built from, and the runner.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response, service_fn};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::ApiError;
use crate::keyring::Keyring;
use crate::repo::Repo;

/// Built once per container: configuration, AWS clients, the keyring cache, the clock.
pub struct App {
    pub config: Config,
    pub repo: Repo,
    pub keyring: Keyring,
    pub clock: Arc<dyn Clock>,
}

impl AsRef<App> for App {
    fn as_ref(&self) -> &App {
        self
    }
}

impl App {
    pub fn new(
        config: Config,
        dynamo: aws_sdk_dynamodb::Client,
        kms: aws_sdk_kms::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let repo = Repo::new(dynamo, config.table_name.clone());
        let keyring = Keyring::new(kms, repo.clone(), config.kms_key_id.clone());
        App { config, repo, keyring, clock }
    }

    /// Configuration from the environment, clients from the standard SDK chain.
    pub async fn from_env() -> Result<Self, lambda_http::Error> {
        let config = Config::from_env()?;
        let sdk = crate::aws::sdk_config().await;
        Ok(App::new(config, aws_sdk_dynamodb::Client::new(&sdk), aws_sdk_kms::Client::new(&sdk), Arc::new(SystemClock)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Runs a function: logging, the state built once, then every request through
/// `handler`, whose errors become the contract's error responses.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>> + Send + 'static,
{
    lambda_http::tracing::init_default_subscriber();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    let cold = AtomicBool::new(true);
    lambda_http::run(service_fn(|req| {
        let cold_start = cold.swap(false, Ordering::Relaxed);
        let response = handler(app, req);
        async move {
            if cold_start {
                tracing::info!(cold_start, "first invocation of this container");
            }
            Ok::<_, Infallible>(crate::http::respond(response.await))
        }
    }))
    .await
}
