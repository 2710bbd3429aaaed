//! `POST /auth/email/resend`: a new verification mail; the older link stops
//! working. At most 3 an hour per user.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{AdminRule, authenticate, json_response};
use shared::mail::{MailToken, VERIFY_TTL_SECS};
use shared::store::{PendingToken, writes};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    if caller.user.email_verified {
        return Err(ApiError::EmailAlreadyVerified);
    }
    let now = app.now().timestamp();
    let user = app.repo.reserve_verification_mail(&caller.user.id, caller.user.version, now).await?;
    let token = MailToken::generate(&user.id);
    let pending = PendingToken { hash: token.hash(), expires_at: now + VERIFY_TTL_SECS };
    app.repo.commit(vec![writes::new_verification(&user, &pending)]).await?;
    app.mailer.send_or_log(&user.email, app.mailer.verification(&token)).await;
    Ok(json_response(StatusCode::ACCEPTED, &json!({ "message": "We sent a new verification link." })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use testkit::{Reply, TestEnv, call, event, mail_to, unique_email};

    async fn resend(env: &TestEnv, access: &str) -> Reply {
        call(env, handle, event("email-resend").cookie("access_token", access).request()).await
    }

    #[tokio::test]
    async fn a_new_link_replaces_the_old_three_times_an_hour_then_429() {
        let env = TestEnv::new().await;
        let address = unique_email("resend");
        let (user, first) = env.register_with_token(&address).await;
        let session = env.sign_in(&user, None).await;
        env.keys().await;
        env.calls.reset();
        let reply = resend(&env, &session.access_token).await;
        assert_eq!((reply.status(), reply.json()), (202, json!({ "message": "We sent a new verification link." })));
        assert_eq!(
            env.calls.take(),
            ["DynamoDB.BatchGetItem", "DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems", "SESv2.SendEmail"]
        );
        let mails = mail_to(&address).await;
        assert_eq!(mails.len(), 1);
        let newest = MailToken::parse(&mails[0].token().unwrap()).unwrap();
        let stored = env.user(&user.id).await.verify_token.unwrap();
        assert!(stored.accepts(&newest.hash(), env.app.now().timestamp()));
        assert!(!stored.accepts(&first.hash(), env.app.now().timestamp()), "the older link stopped working");

        assert_eq!(resend(&env, &session.access_token).await.status(), 202);
        assert_eq!(resend(&env, &session.access_token).await.status(), 202);
        let fourth = resend(&env, &session.access_token).await;
        assert_eq!((fourth.status(), fourth.error()), (429, "too_many_attempts".into()));
        assert_eq!(fourth.header("retry-after"), Some("3600"));
        assert_eq!(mail_to(&address).await.len(), 3);
        env.clock.advance(Duration::hours(1));
        let later = env.sign_in(&env.user(&user.id).await, None).await;
        assert_eq!(resend(&env, &later.access_token).await.status(), 202, "the hour has passed");
    }

    #[tokio::test]
    async fn a_verified_email_is_409_and_without_a_session_401() {
        let env = TestEnv::new().await;
        let (user, token) = env.register_with_token(&unique_email("done")).await;
        env.app
            .repo
            .commit(shared::store::writes::verify_email(&user, &token.hash(), env.app.now().timestamp()).into())
            .await
            .unwrap();
        let session = env.sign_in(&user, None).await;
        let reply = resend(&env, &session.access_token).await;
        assert_eq!((reply.status(), reply.error()), (409, "email_already_verified".into()));
        assert_eq!(call(&env, handle, event("email-resend").cookies::<&str>(&[]).request()).await.status(), 401);
    }

    #[tokio::test]
    async fn the_route_is_open_to_an_admin_without_2fa() {
        let env = TestEnv::new().await;
        let admin = env.grant_admin(&env.register(&unique_email("admin-resend")).await).await;
        let session = env.sign_in(&admin, None).await;
        // Past the admin rule (not 403 mfa_required); an admin's address is verified already.
        let reply = resend(&env, &session.access_token).await;
        assert_eq!((reply.status(), reply.error()), (409, "email_already_verified".into()));
    }
}
