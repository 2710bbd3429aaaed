//! The runner: what every request goes through around its handler.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use lambda_http::{Body, Request, RequestExt, Response, service_fn};

use super::request::{check_origin, through_front_door};
use super::response::{error_response, respond};
use crate::app::App;
use crate::error::ApiError;

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
    let req = match through_front_door(&app.config, req) {
        Ok(req) => req,
        Err(refused) => return error_response(refused),
    };
    if let Err(refused) = check_origin(&app.config, &req) {
        return error_response(refused);
    }
    let budget = time_left(&req).saturating_sub(RESPONSE_MARGIN);
    let result = match tokio::time::timeout(budget, handler(req)).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::unavailable(format!("no answer within the invocation's {} ms", budget.as_millis()))),
    };
    respond(result)
}

/// Kept back from the invocation's deadline to send the answer.
const RESPONSE_MARGIN: Duration = Duration::from_millis(500);

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
