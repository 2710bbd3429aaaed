//! The one error type of the service and its mapping onto the contract's error bodies.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Every way a request can fail. Each variant owns its status code and the
/// contract's error code; internal causes are logged once, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid code")]
    InvalidCode,
    /// A conditional write found the TOTP step already used.
    #[error("code replayed")]
    CodeReplayed,
    #[error("setup expired")]
    SetupExpired,
    /// A mailed link's token: unknown, expired, used or malformed.
    #[error("invalid token")]
    InvalidToken,
    /// A password reset for an account with 2FA came without a code.
    #[error("second factor required")]
    SecondFactorRequired,
    #[error("email already verified")]
    EmailAlreadyVerified,
    #[error("unauthorized")]
    Unauthorized,
    /// A conditional write found the token version changed since it was read.
    #[error("stale token version")]
    StaleVersion,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("session expired")]
    SessionExpired,
    /// A conditional put found the pre-2FA token's nonce already consumed.
    #[error("pre-2FA token already used")]
    TokenAlreadyUsed,
    #[error("second factor required")]
    MfaRequired,
    #[error("email taken")]
    EmailTaken,
    #[error("2FA already enabled")]
    TwofaAlreadyEnabled,
    #[error("2FA not enabled")]
    TwofaNotEnabled,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A `POST` from a page of another origin than the front end's or the API's own.
    #[error("forbidden origin")]
    ForbiddenOrigin,
    #[error("too many attempts, retry after {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    #[error("dependency unavailable: {0}")]
    Unavailable(#[source] Cause),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// Seconds a client should wait before retrying after a 503.
pub const UNAVAILABLE_RETRY_AFTER: u64 = 2;

impl ApiError {
    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::InvalidRequest(detail.into())
    }

    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        Self::Unavailable(cause.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    /// An AWS SDK error: `503` when a retry may pass (a timeout, a connection
    /// failure, throttling, a server error, a transaction conflict), else
    /// `500`: a malformed request, a missing table or key, denied access or an
    /// undecryptable ciphertext are bugs or misconfiguration, and retrying
    /// them only hides it.
    pub fn aws<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = match &err {
            SdkError::TimeoutError(_) => true,
            SdkError::DispatchFailure(failure) => !failure.is_user(),
            SdkError::ResponseError(response) => response.raw().status().is_server_error(),
            SdkError::ServiceError(service) => {
                service.raw().status().is_server_error() || service.err().code().is_some_and(is_transient_code)
            }
            _ => false,
        };
        if transient { Self::unavailable(err) } else { Self::internal(err) }
    }

    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidRequest(_) | InvalidCode | CodeReplayed | SetupExpired | InvalidToken | SecondFactorRequired => {
                StatusCode::BAD_REQUEST
            }
            Unauthorized | StaleVersion | InvalidCredentials | SessionExpired | TokenAlreadyUsed => {
                StatusCode::UNAUTHORIZED
            }
            MfaRequired | ForbiddenOrigin => StatusCode::FORBIDDEN,
            EmailTaken | TwofaAlreadyEnabled | TwofaNotEnabled | EmailAlreadyVerified => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's `error` code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest(_) => "invalid_request",
            InvalidCode | CodeReplayed => "invalid_code",
            SetupExpired => "setup_expired",
            InvalidToken => "invalid_token",
            SecondFactorRequired => "second_factor_required",
            EmailAlreadyVerified => "email_already_verified",
            Unauthorized | StaleVersion => "unauthorized",
            InvalidCredentials => "invalid_credentials",
            SessionExpired | TokenAlreadyUsed => "session_expired",
            MfaRequired => "mfa_required",
            EmailTaken => "email_taken",
            TwofaAlreadyEnabled => "twofa_already_enabled",
            TwofaNotEnabled => "twofa_not_enabled",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            ForbiddenOrigin => "forbidden_origin",
            TooManyAttempts { .. } => "too_many_attempts",
            Unavailable(_) => "service_unavailable",
            Internal(_) => "internal",
        }
    }

    /// A plain sentence for a person; never an internal detail.
    pub fn message(&self) -> String {
        use ApiError::*;
        match self {
            InvalidRequest(detail) => format!("The request is invalid: {detail}."),
            InvalidCode | CodeReplayed => "The code is wrong or was already used.".into(),
            SetupExpired => "No 2FA setup is pending, or it expired. Start the setup again.".into(),
            InvalidToken => "This link is invalid, expired or already used. Ask for a new one.".into(),
            SecondFactorRequired => {
                "This account uses two-factor authentication: enter a code from your authenticator app or a backup code."
                    .into()
            }
            EmailAlreadyVerified => "This email address is already verified.".into(),
            Unauthorized | StaleVersion => "Sign in to continue.".into(),
            InvalidCredentials => "The email or password is wrong.".into(),
            SessionExpired | TokenAlreadyUsed => "The sign-in step expired. Sign in again with your password.".into(),
            MfaRequired => "Turn on two-factor authentication to continue.".into(),
            EmailTaken => "An account with this email already exists.".into(),
            TwofaAlreadyEnabled => "Two-factor authentication is already on.".into(),
            TwofaNotEnabled => "Two-factor authentication is not on.".into(),
            PayloadTooLarge => "The request body is too large.".into(),
            UnsupportedMediaType => "Send the body as application/json.".into(),
            ForbiddenOrigin => "Requests from this site are not accepted.".into(),
            TooManyAttempts { .. } => "Too many attempts. Try again later.".into(),
            Unavailable(_) => "The service is briefly unavailable. Try again.".into(),
            Internal(_) => "Something went wrong on our side.".into(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooManyAttempts { retry_after } => Some(*retry_after),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }

    /// The response for this error. The internal cause, if any, is logged here
    /// (once, inside the invocation's span that carries the request id).
    pub fn into_response(self) -> Response<Body> {
        match &self {
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
        let body = ErrorBody { error: self.code(), message: self.message() };
        let mut response = crate::http::json_response(self.status(), &body);
        if let Some(seconds) = self.retry_after() {
            response
                .headers_mut()
                .insert(lambda_http::http::header::RETRY_AFTER, lambda_http::http::HeaderValue::from(seconds));
        }
        response
    }
}

/// Error codes (of DynamoDB, KMS, SES, or a cancelled transaction's reason)
/// that say "try again": the service is throttling, busy or briefly failing.
pub fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "ThrottlingError"
            | "Throttling"
            | "ProvisionedThroughputExceededException"
            | "ProvisionedThroughputExceeded"
            | "RequestLimitExceeded"
            | "LimitExceededException"
            | "TooManyRequestsException"
            | "TransactionConflict"
            | "TransactionConflictException"
            | "TransactionInProgressException"
            | "InternalServerError"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "KMSInternalException"
            | "DependencyTimeoutException"
            | "KeyUnavailableException"
    )
}

/// Formats an error with all its sources, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
