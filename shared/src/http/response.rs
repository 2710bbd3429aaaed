//! Writing responses the way the contract says: JSON with `no-store`, cookies,
//! the error body.

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

use crate::error::{ApiError, ErrorChain};

/// A JSON response with the headers every response carries.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let json = serde_json::to_string(body).expect("response bodies serialize");
    let mut response = Response::new(Body::Text(json));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A `200` JSON response that caches may keep five minutes: the one exception
/// to `no-store`, for the public key set and the discovery document.
pub fn public_json_response<T: Serialize>(body: &T) -> Response<Body> {
    let mut response = json_response(StatusCode::OK, body);
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// `204 No Content` with `Cache-Control: no-store`.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds `Set-Cookie` headers; `lambda_http` moves each into the API Gateway v2
/// response's `cookies` array, so each becomes its own `set-cookie` line.
pub fn with_cookies(mut response: Response<Body>, cookies: impl IntoIterator<Item = String>) -> Response<Body> {
    for cookie in cookies {
        let value = HeaderValue::from_str(&cookie).expect("cookies are built from header-safe parts");
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Turns a handler's result into the response: errors become the contract's error body.
pub(super) fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(error_response)
}

/// The response for an error. The internal cause, if any, is logged here
/// (once, inside the invocation's span that carries the request id).
pub(super) fn error_response(err: ApiError) -> Response<Body> {
    match &err {
        ApiError::Unavailable(cause) => {
            tracing::error!(error = %ErrorChain(cause.as_ref()), "dependency failed")
        }
        ApiError::Internal(cause) => {
            tracing::error!(error = %ErrorChain(cause.as_ref()), "internal error")
        }
        other => tracing::info!(error = other.code(), "request refused"),
    }
    #[derive(Serialize)]
    struct ErrorBody {
        error: &'static str,
        message: String,
    }
    let body = ErrorBody { error: err.code(), message: err.message() };
    let mut response = json_response(err.status(), &body);
    if let Some(seconds) = err.retry_after() {
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if matches!(err, ApiError::ReauthenticationRequired) {
        // RFC 9470 step-up: what the client must do, in the standard's words.
        let challenge =
            format!("Bearer error=\"insufficient_user_authentication\", max_age={}", crate::domain::RECENT_AUTH_SECS);
        response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).expect("ASCII"));
    }
    response
}
