//! `POST /auth/email/verify`: the link of the verification mail. The token
//! must be the newest one mailed, unused and less than 24 hours old.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind};
use shared::http::{json_body, json_response};
use shared::mail::MailToken;
use shared::store::{Write, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let body: TokenBody = json_body(&req)?;
    let token = MailToken::parse(&body.token)?;
    let now = app.now();
    let user = app.repo.user(token.user_id()).await?.ok_or(ApiError::InvalidToken)?;
    let hash = token.hash();
    if !user.verify_token.as_ref().is_some_and(|stored| stored.accepts(&hash, now.timestamp())) {
        return Err(ApiError::InvalidToken);
    }
    let mut commit: Vec<Write> = writes::verify_email(&user, &hash, now.timestamp()).into();
    commit.extend(writes::audit(&user.id, &[EventKind::EmailVerified], now.timestamp_millis(), &ClientInfo::of(&req)));
    app.repo.commit(commit).await?;
    Ok(json_response(StatusCode::OK, &json!({ "message": "email verified" })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::Value;
    use testkit::{Reply, TestEnv, call, event};

    async fn verify(env: &TestEnv, token: &str) -> Reply {
        call(env, handle, event("email-verify").json(json!({ "token": token })).request()).await
    }

    #[tokio::test]
    async fn the_registration_link_verifies_the_email_once_in_two_calls() {
        let env = TestEnv::new().await;
        let (user, token) = env.register_with_token("vera@example.com").await;
        assert!(!user.email_verified);
        env.clock.advance(Duration::seconds(1));
        env.calls.reset();
        let reply = verify(&env, &token.for_link()).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "email verified" })));
        assert_eq!(env.calls.take(), ["DynamoDB.GetItem", "DynamoDB.TransactWriteItems"]);
        assert!(env.user(&user.id).await.email_verified);
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events[0].kind, EventKind::EmailVerified);
        let again = verify(&env, &token.for_link()).await;
        assert_eq!((again.status(), again.error()), (400, "invalid_token".into()), "a link works once");
    }

    #[tokio::test]
    async fn an_expired_unknown_or_malformed_token_is_invalid_and_changes_nothing() {
        let env = TestEnv::new().await;
        let (user, token) = env.register_with_token("late@example.com").await;
        let stranger = MailToken::generate(&user.id).for_link();
        let unknown_user = MailToken::generate("nosuchuser").for_link();
        let before = env.dump().await;
        for bad in [stranger.as_str(), unknown_user.as_str(), "not-a-token", ""] {
            let reply = verify(&env, bad).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_token".into()), "{bad}");
        }
        env.clock.advance(Duration::hours(24));
        let late = verify(&env, &token.for_link()).await;
        assert_eq!((late.status(), late.error()), (400, "invalid_token".into()), "expired after 24 hours");
        assert_eq!(env.dump().await, before);
        let no_body = call(&env, handle, event("email-verify").json(Value::Null).request()).await;
        assert_eq!(no_body.status(), 400);
    }
}
