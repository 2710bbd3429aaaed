//! `GET /auth/me`: who the caller is.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::http::{AdminRule, UserView, authenticate, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let user = &caller.user;
    let view = UserView::of(user, caller.claims.aal);
    Ok(json_response(StatusCode::OK, &view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::domain::SecondFactor;
    use shared::store::writes;
    use testkit::{TestEnv, call, event};

    #[tokio::test]
    async fn the_access_token_works_from_the_cookie_or_as_bearer_in_one_read() {
        let env = TestEnv::new().await;
        let user = env.register("dana@example.com").await;
        let session = env.sign_in(&user, None).await;
        env.calls.reset();
        // A cold container's first request also reads the published keys and unwraps the key
        // that authenticates them; then one read per request.
        let first = call(&env, handle, event("me").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(first.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt", "DynamoDB.BatchGetItem"]);
        for req in [
            event("me").cookie("access_token", &session.access_token).request(),
            event("me").cookies::<&str>(&[]).bearer(&session.access_token).request(),
        ] {
            let reply = call(&env, handle, req).await;
            assert_eq!(reply.status(), 200);
            assert_eq!(
                reply.json(),
                json!({
                    "id": user.id, "email": "dana@example.com", "emailVerified": false, "role": "user",
                    "twoFactorEnabled": false, "aal": 1, "passkeys": 0
                })
            );
            assert_eq!(env.calls.take(), ["DynamoDB.BatchGetItem"]);
        }
    }

    #[tokio::test]
    async fn other_token_kinds_and_garbage_are_401() {
        let env = TestEnv::new().await;
        let enrolled = env.enroll(&env.register("eve@example.com").await).await;
        let session = env.sign_in(&enrolled.user, Some(SecondFactor::Totp)).await;
        let pre2fa = env.pre2fa(&enrolled.user).await;
        for req in [
            event("me").cookies::<&str>(&[]).request(),
            event("me").cookie("access_token", &session.refresh_token).request(),
            event("me").cookie("access_token", &pre2fa).request(),
            event("me").cookies::<&str>(&[]).bearer(&session.refresh_token).request(),
            event("me").cookie("access_token", "not.a.jwt").request(),
            event("me").cookie("access_token", "%%%").request(),
        ] {
            let reply = call(&env, handle, req).await;
            assert_eq!((reply.status(), reply.error()), (401, "unauthorized".into()));
        }
    }

    #[tokio::test]
    async fn a_token_of_an_older_version_is_refused_at_once() {
        let env = TestEnv::new().await;
        let user = env.register("fay@example.com").await;
        let session = env.sign_in(&user, None).await;
        env.app.repo.commit(writes::bump_version(&user).into()).await.unwrap();
        let reply = call(&env, handle, event("me").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(reply.status(), 401);
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let env = TestEnv::new().await;
        let user = env.register("gil@example.com").await;
        let session = env.sign_in(&user, None).await;
        env.clock.advance(chrono::Duration::seconds(15 * 60));
        let reply = call(&env, handle, event("me").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(reply.status(), 401);
    }
}
