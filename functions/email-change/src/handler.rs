//! `POST /auth/email/change`: asks to move the account to a new address (a
//! recent proof needed). Nothing changes until the link mailed to the new
//! address is used (at `POST /auth/email/verify`); the current address gets a
//! notice. At most 3 requests an hour, answered or refused alike.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, Email, EventKind};
use shared::http::{AdminRule, authenticate, json_body, json_response};
use shared::mail::{MailToken, VERIFY_TTL_SECS};
use shared::store::{PendingToken, Write, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(rename = "newEmail")]
    new_email: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    let body: ChangeBody = json_body(&req)?;
    let new_email = Email::parse(&body.new_email)?;
    if new_email == caller.user.email {
        return Err(ApiError::invalid_request("the new address is the account's address already"));
    }
    let now = app.now();
    caller.require_recent(now.timestamp())?;

    // Counted before the address is looked at, so that the limit also bounds
    // how many addresses one account can find taken.
    let user = app.repo.reserve_email_change(&caller.user.id, caller.user.version, now.timestamp()).await?;
    let token = MailToken::generate(&user.id);
    let pending = PendingToken { hash: token.hash(), expires_at: now.timestamp() + VERIFY_TTL_SECS };
    let client = ClientInfo::of(&req);
    let events = [EventKind::EmailChangeRequested];
    let mut commit: Vec<Write> = writes::request_email_change(&user, &new_email, &pending).into();
    commit.extend(writes::audit(&user.id, &events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;

    app.mailer.send_or_log(&new_email, app.mailer.email_change(&token)).await;
    let detail = format!("The new address would be {}; the link to confirm it works for 24 hours.", new_email.as_str());
    if let Some(notice) = app.mailer.notice(events[0], now.timestamp_millis(), &client, Some(detail)) {
        app.mailer.send_or_log(&user.email, notice).await;
    }
    tracing::info!(user_id = user.id, "email change requested");
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "message": "We sent a link to the new address: use it to confirm the change." }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::Value;
    use shared::domain::SecondFactor;
    use testkit::proxy::Fault;
    use testkit::{Reply, TestEnv, behind_proxy, call, event, mail_to, one_notice, unique_email};

    async fn change(env: &TestEnv, access: &str, body: Value) -> Reply {
        call(env, handle, event("email-change").cookie("access_token", access).json(body).request()).await
    }

    fn client() -> ClientInfo {
        ClientInfo::of(&event("email-change").request())
    }

    #[tokio::test]
    async fn a_link_to_the_new_address_a_notice_to_the_current_one_and_nothing_changed_yet() {
        let env = TestEnv::new().await;
        let (current, wanted) = (unique_email("current"), unique_email("wanted"));
        let user = env.register_verified(&current).await;
        let session = env.sign_in(&user, None).await;
        env.clock.advance(Duration::seconds(1));
        env.keys().await;
        env.calls.reset();
        let reply =
            change(&env, &session.access_token, json!({ "newEmail": format!("  {}", wanted.to_uppercase()) })).await;
        assert_eq!(reply.status(), 202, "{:?}", reply.json());
        assert!(reply.json()["message"].as_str().unwrap().contains("new address"));
        let calls = env.calls.take();
        assert_eq!(
            calls,
            [
                "DynamoDB.BatchGetItem",
                "DynamoDB.UpdateItem",
                "DynamoDB.TransactWriteItems",
                "SESv2.SendEmail",
                "SESv2.SendEmail"
            ],
            "AWS calls of an email change: {calls:?}"
        );

        let mails = mail_to(&wanted).await;
        assert_eq!(mails.len(), 1, "{mails:?}");
        assert!(mails[0].subject.ends_with("Confirm your new email address"), "{}", mails[0].subject);
        let link = mails[0].link().unwrap();
        assert!(link.starts_with(&format!("{}/verify-email#token=", testkit::FRONT_END_ORIGIN)), "{link}");
        let token = MailToken::parse(&mails[0].token().unwrap()).unwrap();
        assert_eq!(token.user_id(), user.id);
        let notice = one_notice(
            &current,
            "A change of your email address was asked for",
            env.app.now(),
            &client(),
            &[&token.for_link()],
        )
        .await;
        assert!(notice.body.contains(&wanted), "the notice names the new address: {}", notice.body);

        let stored = env.user(&user.id).await;
        let pending = stored.email_change.clone().expect("a pending change");
        assert_eq!((pending.to.as_str(), pending.version), (wanted.as_str(), user.version));
        assert!(pending.accepts(&token.hash(), user.version, env.app.now().timestamp()));
        assert_eq!(pending.token.expires_at, env.app.now().timestamp() + 24 * 60 * 60);
        assert_eq!((stored.email.as_str(), stored.version), (current.as_str(), user.version), "nothing changed yet");
        assert!(env.app.repo.login_of(&Email::parse(&wanted).unwrap()).await.unwrap().is_none());
        assert!(!env.table_contains(token.for_link().split_once('.').unwrap().1.as_bytes()).await, "the token stored");
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events[0].kind, EventKind::EmailChangeRequested);
        assert_eq!(mail_to(&current).await.len(), 1, "only the notice went to the current address");
    }

    #[tokio::test]
    async fn a_newer_request_replaces_the_older_one() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("twice")).await;
        let session = env.sign_in(&user, None).await;
        let (first, second) = (unique_email("first"), unique_email("second"));
        assert_eq!(change(&env, &session.access_token, json!({ "newEmail": first })).await.status(), 202);
        let old = MailToken::parse(&mail_to(&first).await[0].token().unwrap()).unwrap();
        assert_eq!(change(&env, &session.access_token, json!({ "newEmail": second })).await.status(), 202);
        let new = MailToken::parse(&mail_to(&second).await[0].token().unwrap()).unwrap();
        let pending = env.user(&user.id).await.email_change.unwrap();
        let now = env.app.now().timestamp();
        assert_eq!(pending.to.as_str(), second);
        assert!(pending.accepts(&new.hash(), user.version, now) && !pending.accepts(&old.hash(), user.version, now));
    }

    #[tokio::test]
    async fn three_requests_an_hour_counted_before_the_taken_check_then_429() {
        let env = TestEnv::new().await;
        let taken = unique_email("taken");
        env.register(&taken).await;
        let user = env.register(&unique_email("prober")).await;
        let session = env.sign_in(&user, None).await;
        env.keys().await;
        env.calls.reset();
        let first = change(&env, &session.access_token, json!({ "newEmail": taken })).await;
        assert_eq!((first.status(), first.error()), (409, "email_taken".into()));
        let calls = env.calls.take();
        assert_eq!(
            calls,
            ["DynamoDB.BatchGetItem", "DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems"],
            "AWS calls of a refused change: {calls:?}"
        );
        assert_eq!(change(&env, &session.access_token, json!({ "newEmail": taken })).await.error(), "email_taken");
        let free = unique_email("free");
        assert_eq!(change(&env, &session.access_token, json!({ "newEmail": free })).await.status(), 202);
        for address in [taken.as_str(), &unique_email("other")] {
            let fourth = change(&env, &session.access_token, json!({ "newEmail": address })).await;
            assert_eq!((fourth.status(), fourth.error()), (429, "too_many_attempts".into()), "{address}");
            assert_eq!(fourth.header("retry-after"), Some("3600"));
        }
        assert_eq!(
            env.user(&user.id).await.email_change.unwrap().to.as_str(),
            free,
            "the refused ones changed nothing"
        );
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == EventKind::EmailChangeRequested).count(), 1);
        env.clock.advance(Duration::hours(1));
        let later = env.sign_in(&env.user(&user.id).await, None).await;
        let again = change(&env, &later.access_token, json!({ "newEmail": unique_email("later") })).await;
        assert_eq!(again.status(), 202, "the hour has passed");
    }

    #[tokio::test]
    async fn an_address_with_only_a_login_counter_is_no_account() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("counted")).await;
        let wanted = Email::parse(&unique_email("nobody")).unwrap();
        env.app.repo.reserve_password_attempt(&wanted, env.app.now().timestamp()).await.unwrap();
        let session = env.sign_in(&user, None).await;
        let reply = change(&env, &session.access_token, json!({ "newEmail": wanted.as_str() })).await;
        assert_eq!(reply.status(), 202);
    }

    #[tokio::test]
    async fn bad_input_an_old_proof_or_no_session_change_nothing() {
        let env = TestEnv::new().await;
        let address = unique_email("stays");
        let user = env.register(&address).await;
        let session = env.sign_in(&user, None).await;
        let before = env.dump().await;
        for (body, status, error) in [
            (json!({ "newEmail": format!(" {} ", address.to_uppercase()) }), 400, "invalid_request"),
            (json!({ "newEmail": "not an address" }), 400, "invalid_request"),
            (json!({ "newEmail": 42 }), 400, "invalid_request"),
            (json!({ "email": unique_email("x") }), 400, "invalid_request"),
            (json!({ "newEmail": unique_email("x"), "extra": true }), 400, "invalid_request"),
            (json!({}), 400, "invalid_request"),
        ] {
            let reply = change(&env, &session.access_token, body.clone()).await;
            assert_eq!((reply.status(), reply.error().as_str()), (status, error), "{body}");
        }
        let same = change(&env, &session.access_token, json!({ "newEmail": address })).await;
        assert!(same.json()["message"].as_str().unwrap().contains("already"), "{:?}", same.json());
        let no_session = call(&env, handle, event("email-change").cookies::<&str>(&[]).request()).await;
        assert_eq!((no_session.status(), no_session.error()), (401, "unauthorized".into()));
        env.clock.advance(Duration::minutes(11));
        let old = change(&env, &session.access_token, json!({ "newEmail": unique_email("late") })).await;
        assert_eq!((old.status(), old.error()), (401, "reauthentication_required".into()));
        assert!(old.header("www-authenticate").unwrap().contains("max_age=600"));
        assert_eq!(env.dump().await, before, "nothing changed, nothing counted");
        assert!(mail_to(&address).await.is_empty());
    }

    #[tokio::test]
    async fn an_admin_without_2fa_is_403_and_with_it_may_change() {
        let env = TestEnv::new().await;
        let admin = env.grant_admin(&env.register(&unique_email("admin-change")).await).await;
        let session = env.sign_in(&admin, None).await;
        let reply = change(&env, &session.access_token, json!({ "newEmail": unique_email("new-admin") })).await;
        assert_eq!((reply.status(), reply.error()), (403, "mfa_required".into()));
        let enrolled = env.enroll(&admin).await;
        let session = env.sign_in(&enrolled.user, Some(SecondFactor::Totp)).await;
        let reply = change(&env, &session.access_token, json!({ "newEmail": unique_email("new-admin") })).await;
        assert_eq!(reply.status(), 202);
    }

    #[tokio::test]
    async fn an_unreachable_dynamodb_at_the_write_is_503_and_no_change_is_pending_or_mailed() {
        let (proxy, env) = behind_proxy().await;
        let user = env.register(&unique_email("outage")).await;
        let session = env.sign_in(&user, None).await;
        env.keys().await;
        let wanted = unique_email("unreached");
        // The session read and the counter pass; the transaction finds DynamoDB gone.
        proxy.fail_after(2, Fault::Refuse);
        let reply = change(&env, &session.access_token, json!({ "newEmail": wanted })).await;
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
        proxy.set(Fault::None);
        let stored = env.user(&user.id).await;
        assert!(stored.email_change.is_none(), "a change half-written");
        assert!(mail_to(&wanted).await.is_empty(), "a link mailed for a change that is not stored");
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert!(events.iter().all(|e| e.kind != EventKind::EmailChangeRequested));
    }
}
