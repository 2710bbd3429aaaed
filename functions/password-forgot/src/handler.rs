//! `POST /auth/password/forgot`: a reset link by mail, when an account has
//! the address. The answer is the same, and comes at the same moment, whether
//! or not one does.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, Email, EventKind};
use shared::flows::accounts;
use shared::http::{json_body, json_response};
use shared::mail::{MailToken, RESET_TTL_SECS};
use shared::store::{MAIL_LIMIT, PendingToken, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgotBody {
    email: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let arrived = tokio::time::Instant::now();
    let body: ForgotBody = json_body(&req)?;
    let email = Email::parse(&body.email)?;
    let requested = request_reset(app, &email, &ClientInfo::of(&req)).await;
    // A reset for an account writes a token and sends a mail (SES takes tens
    // of milliseconds), an unknown address does neither: the time must not
    // tell them apart.
    tokio::time::sleep_until(arrived + accounts::FIXED_ANSWER).await;
    requested?;
    let message = "If an account exists for that address, we sent a link.";
    Ok(json_response(StatusCode::ACCEPTED, &json!({ "message": message })))
}

/// Counts the mail against the address's limit (whether or not an account has
/// it), then, for an account, stores the new link's token hash (older links
/// stop working), logs the request and sends the mail.
async fn request_reset(app: &App, email: &Email, client: &ClientInfo) -> Result<(), ApiError> {
    let now = app.now();
    let login = match app.repo.reserve_reset_mail(email, now.timestamp()).await {
        // Over the limit: the same answer, and nothing is sent.
        Err(ApiError::TooManyAttempts { .. }) => return Ok(()),
        other => other?,
    };
    let Some(account) = login.account else {
        return app.repo.expire_login_counter(email, now.timestamp() + MAIL_LIMIT.window_secs).await;
    };
    let token = MailToken::generate(&account.user_id);
    let pending = PendingToken { hash: token.hash(), expires_at: now.timestamp() + RESET_TTL_SECS };
    let mut commit = vec![writes::start_reset(&account.user_id, &pending)];
    commit.extend(writes::audit(
        &account.user_id,
        &[EventKind::PasswordResetRequested],
        now.timestamp_millis(),
        client,
    ));
    app.repo.commit(commit).await?;
    accounts::send_anonymous_mail(app, &account.email, app.mailer.password_reset(&token)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{Reply, TestEnv, call, event, mail_to, unique_email};

    async fn forgot(env: &TestEnv, email: &str) -> Reply {
        call(env, handle, event("password-forgot").json(json!({ "email": email })).request()).await
    }

    #[tokio::test]
    async fn an_account_and_an_unknown_address_get_the_same_answer_and_only_the_account_a_mail() {
        let env = TestEnv::new().await;
        let (known, unknown) = (unique_email("known"), unique_email("unknown"));
        let user = env.register(&known).await;
        env.clock.advance(chrono::Duration::seconds(1));
        env.keys().await;
        env.calls.reset();
        let to_account = forgot(&env, &known).await;
        // The third call takes the mail from the minute's anonymous budget.
        assert_eq!(
            env.calls.take(),
            ["DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems", "DynamoDB.UpdateItem", "SESv2.SendEmail"]
        );
        let to_nobody = forgot(&env, &unknown).await;
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.UpdateItem"]);
        assert_eq!((to_account.status(), to_nobody.status()), (202, 202));
        assert_eq!(to_account.json(), to_nobody.json());
        assert_eq!(to_account.json()["message"], "If an account exists for that address, we sent a link.");

        let mails = mail_to(&known).await;
        assert_eq!(mails.len(), 1);
        assert!(mails[0].link().unwrap().starts_with("https://app.example.com/reset-password#token="));
        assert!(mail_to(&unknown).await.is_empty());
        let token = MailToken::parse(&mails[0].token().unwrap()).unwrap();
        assert!(env.user(&user.id).await.reset_token.unwrap().accepts(&token.hash(), env.app.now().timestamp()));
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events[0].kind, EventKind::PasswordResetRequested);
        assert!(!env.table_contains(token.for_link().split_once('.').unwrap().1.as_bytes()).await, "token stored");
    }

    #[tokio::test]
    async fn three_mails_an_hour_per_address_and_the_fourth_request_still_answers_202() {
        let env = TestEnv::new().await;
        let address = unique_email("many");
        env.register(&address).await;
        for _ in 0..4 {
            assert_eq!(forgot(&env, &address).await.status(), 202);
        }
        assert_eq!(mail_to(&address).await.len(), 3);
        for _ in 0..4 {
            assert_eq!(forgot(&env, "nobody-here@example.com").await.status(), 202);
        }
    }

    #[tokio::test]
    async fn a_malformed_address_is_400_and_every_answer_waits_the_same() {
        let env = TestEnv::new().await;
        let bad = forgot(&env, "not an address").await;
        assert_eq!((bad.status(), bad.error()), (400, "invalid_request".into()));
        let started = std::time::Instant::now();
        forgot(&env, "nobody@example.com").await;
        assert!(started.elapsed() >= accounts::FIXED_ANSWER, "answered before the fixed time");
    }
}
