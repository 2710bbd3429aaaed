//! `GET /auth/2fa/status`: whether 2FA is on, since when, how many backup
//! codes are left and how many factors the user has.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::clock::rfc3339;
use shared::http::{AdminRule, authenticate, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let user = &caller.user;
    let body = match user.twofa_enabled() {
        true => json!({
            "enabled": true,
            "enabledAt": user.enabled_at.map(rfc3339),
            "backupCodesRemaining": user.backup_hashes.len(),
            "factors": user.factors.len(),
        }),
        false => json!({ "enabled": false, "enabledAt": null, "backupCodesRemaining": null, "factors": 0 }),
    };
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::SecondFactor;
    use testkit::{TestEnv, call, event};

    #[tokio::test]
    async fn status_with_and_without_2fa_in_one_read() {
        let env = TestEnv::new().await;
        let user = env.register("st@example.com").await;
        let session = env.sign_in(&user, None).await;
        env.calls.reset();
        let status = || event("twofa-status").cookie("access_token", &session.access_token).request();
        // A cold container's first request also reads the published keys and the key that authenticates them.
        assert_eq!(call(&env, handle, status()).await.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt", "DynamoDB.BatchGetItem"]);
        let off = call(&env, handle, status()).await;
        assert_eq!(
            off.json(),
            json!({ "enabled": false, "enabledAt": null, "backupCodesRemaining": null, "factors": 0 })
        );
        assert_eq!(env.calls.take(), ["DynamoDB.BatchGetItem"]);

        let enrolled = env.enroll(&user).await;
        let session = env.sign_in(&enrolled.user, Some(SecondFactor::Totp)).await;
        let on =
            call(&env, handle, event("twofa-status").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(
            on.json(),
            json!({ "enabled": true, "enabledAt": "2026-11-25T12:00:10Z", "backupCodesRemaining": 10, "factors": 1 })
        );
    }
}
