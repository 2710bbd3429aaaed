mod handler;

use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};

/// Not a route of this API: a Lambda authorizer that a team attaches to the
/// routes of its own HTTP APIs (payload 2.0, simple responses).
#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let app: &'static shared::App = Box::leak(Box::new(shared::App::from_env().await?));
    // Its requests come from other APIs, whose domain is not our issuer.
    if app.config.issuer_url.is_none() {
        return Err("set ISSUER_URL: the issuer of the access tokens this authorizer accepts".into());
    }
    let rules: &'static handler::Rules = Box::leak(Box::new(handler::Rules::from_env()?));
    lambda_runtime::run(service_fn(|event: LambdaEvent<_>| handler::handle(app, rules, event.payload))).await
}
