//! AWS clients with deliberate timeouts and bounded retries: an unreachable or
//! failing DynamoDB or KMS costs a request a few seconds at most, then 503.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Connecting to a regional endpoint takes milliseconds; a second means trouble.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of one call (DynamoDB single-digit ms, KMS tens of ms).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
/// All attempts of one call together.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);
/// The first try and two retries, with short backoff.
pub const MAX_ATTEMPTS: u32 = 3;

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
