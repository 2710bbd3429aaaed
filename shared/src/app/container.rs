//! The per-container state every function is built from.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use super::keyring::Keyring;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::{KeySet, SigningKeys};
use crate::error::ApiError;
use crate::factors::passkey::RelyingParty;
use crate::mail::Mailer;
use crate::store::Repo;

/// Built once per container: configuration, AWS clients, the keyring cache, the clock.
pub struct App {
    pub config: Config,
    pub repo: Repo,
    pub keyring: Keyring,
    pub mailer: Mailer,
    /// This deployment's WebAuthn relying party (passkeys).
    pub passkeys: RelyingParty,
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
        let passkeys = RelyingParty::new(&config.passkeys.rp_id, &config.passkeys.origins, &config.issuer)
            .expect("a validated configuration names a valid relying party");
        App { config, repo, keyring, mailer, passkeys, clock }
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
