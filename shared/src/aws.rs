//! AWS clients with deliberate timeouts and bounded retries: an unreachable or
//! failing DynamoDB or KMS costs a request a few seconds at most, then 503.
//! And which AWS errors are worth a retry (`503`) and which are bugs (`500`).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use crate::error::ApiError;

/// Connecting to a regional endpoint takes milliseconds; a second means trouble.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of one call (DynamoDB single-digit ms, KMS tens of ms).
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// All attempts of one call together.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// The first try and two retries, with short backoff.
const MAX_ATTEMPTS: u32 = 3;

/// The SDK configuration every client is built from. The endpoint comes from
/// the standard `AWS_ENDPOINT_URL` when set (the local stack), else AWS.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts()).retry_config(retries()).load().await
}

pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(500))
}

impl ApiError {
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
