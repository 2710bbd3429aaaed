//! `POST /auth/email/verify`: the link of a verification mail, or of an
//! email change's confirmation mail. The token must be the newest one mailed
//! for it, unused and less than 24 hours old; a change's also needs the token
//! version it was asked under.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind};
use shared::http::{json_body, json_response};
use shared::mail::MailToken;
use shared::store::{EmailChange, UserRecord, Write, writes};
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
    if user.verify_token.as_ref().is_some_and(|stored| stored.accepts(&hash, now.timestamp())) {
        let mut commit: Vec<Write> = writes::verify_email(&user, &hash, now.timestamp()).into();
        commit.extend(writes::audit(
            &user.id,
            &[EventKind::EmailVerified],
            now.timestamp_millis(),
            &ClientInfo::of(&req),
        ));
        app.repo.commit(commit).await?;
        return Ok(json_response(StatusCode::OK, &json!({ "message": "email verified" })));
    }
    match &user.email_change {
        Some(change) if change.accepts(&hash, user.version, now.timestamp()) => {
            change_email(app, &req, &user, change, &hash).await
        }
        _ => Err(ApiError::InvalidToken),
    }
}

/// The account moves to the new address in one transaction (the old one is
/// free, every session ends); both addresses get a notice.
async fn change_email(
    app: &App,
    req: &Request,
    user: &UserRecord,
    change: &EmailChange,
    hash: &str,
) -> Result<Response<Body>, ApiError> {
    let now = app.now();
    let login = app.repo.login_of(&user.email).await?;
    let login = login
        .filter(|login| login.account.user_id == user.id)
        .ok_or_else(|| ApiError::internal("an account without its login item"))?;
    let client = ClientInfo::of(req);
    let events = [EventKind::EmailChanged];
    let mut commit: Vec<Write> = writes::change_email(user, &login, change, hash, now.timestamp()).into();
    commit.extend(writes::audit(&user.id, &events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    tracing::info!(user_id = user.id, "email changed");
    for (to, detail) in [
        (&user.email, format!("The account's address is now {}; this one no longer signs in.", change.to.as_str())),
        (&change.to, format!("This is the account's address now, instead of {}.", user.email.as_str())),
    ] {
        if let Some(notice) = app.mailer.notice(events[0], now.timestamp_millis(), &client, Some(detail)) {
            app.mailer.send_or_log(to, notice).await;
        }
    }
    Ok(json_response(StatusCode::OK, &json!({ "message": "email changed" })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::Value;
    use shared::domain::{Email, SecondFactor};
    use shared::mail::VERIFY_TTL_SECS;
    use shared::store::PendingToken;
    use testkit::proxy::Fault;
    use testkit::{PASSWORD, Reply, TestEnv, behind_proxy, call, event, mail_to, one_notice, unique_email};

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

    /// A change of `user`'s address to `to`, as `POST /auth/email/change` stores it; the token its link carries.
    async fn pending_change(env: &TestEnv, user: &UserRecord, to: &str) -> MailToken {
        let token = MailToken::generate(&user.id);
        let pending = PendingToken { hash: token.hash(), expires_at: env.app.now().timestamp() + VERIFY_TTL_SECS };
        let user = env.user(&user.id).await;
        let to = Email::parse(to).unwrap();
        env.app.repo.commit(writes::request_email_change(&user, &to, &pending).into()).await.expect("change asked");
        token
    }

    fn client() -> ClientInfo {
        ClientInfo::of(&event("email-verify").request())
    }

    #[tokio::test]
    async fn a_change_link_moves_the_account_to_the_new_address_and_ends_every_session() {
        let env = TestEnv::new().await;
        let (old, new) = (unique_email("old"), unique_email("new"));
        let enrolled = env.enroll(&env.register_verified(&old).await).await;
        let session = env.sign_in(&enrolled.user, Some(SecondFactor::Totp)).await;
        let token = pending_change(&env, &enrolled.user, &new).await;
        let before = env.user(&enrolled.user.id).await;
        let old_login = env.app.repo.login_of(&before.email).await.unwrap().unwrap();
        env.clock.advance(Duration::seconds(1));
        env.keys().await;
        env.calls.reset();
        let reply = verify(&env, &token.for_link()).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "email changed" })));
        let calls = env.calls.take();
        assert_eq!(
            calls,
            [
                "DynamoDB.GetItem",
                "DynamoDB.GetItem",
                "DynamoDB.TransactWriteItems",
                "SESv2.SendEmail",
                "SESv2.SendEmail"
            ],
            "AWS calls of a confirmed change: {calls:?}"
        );

        let after = env.user(&before.id).await;
        assert_eq!(
            (after.email.as_str(), after.email_verified, after.version),
            (new.as_str(), true, before.version + 1)
        );
        assert!(after.email_change.is_none() && after.reset_token.is_none());
        assert_eq!(after.factors.len(), 1, "the factors stay");
        assert!(env.app.repo.login_of(&before.email).await.unwrap().is_none(), "the old address is free");
        let moved = env.app.repo.login_of(&after.email).await.unwrap().expect("the new address signs in");
        let account = &moved.account;
        assert_eq!((account.user_id.as_str(), account.email.as_str()), (before.id.as_str(), new.as_str()));
        assert_eq!(
            (account.version, account.twofa_enabled, account.email_verified, account.role),
            (after.version, true, true, before.role)
        );
        assert_eq!(account.password_hash, old_login.account.password_hash);
        let password = shared::domain::Password::parse(PASSWORD.to_string().into()).unwrap();
        assert!(shared::factors::password::verify(&password, Some(&account.password_hash)).await.unwrap());
        let old_token = event("me").bearer(&session.access_token).request();
        let refused = shared::http::authenticate(&env.app, &old_token, shared::http::AdminRule::OpenBeforeTwofa).await;
        assert!(matches!(refused, Err(ApiError::Unauthorized)), "a session of before the change lives on");

        let title = "The email address of your account was changed";
        let secret = token.for_link();
        let to_old = one_notice(&old, title, env.app.now(), &client(), &[&secret]).await;
        assert!(to_old.body.contains(&new), "{}", to_old.body);
        let to_new = one_notice(&new, title, env.app.now(), &client(), &[&secret]).await;
        assert!(to_new.body.contains(&old), "{}", to_new.body);
        let events = env.app.repo.recent_events(&before.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events[0].kind, EventKind::EmailChanged);

        let again = verify(&env, &token.for_link()).await;
        assert_eq!((again.status(), again.error()), (400, "invalid_token".into()), "a link works once");
    }

    #[tokio::test]
    async fn a_change_link_stops_working_when_the_token_version_moves_on() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("moved-on")).await;
        let token = pending_change(&env, &user, &unique_email("never")).await;
        env.app.repo.commit(writes::bump_version(&env.user(&user.id).await).into()).await.unwrap();
        let before = env.dump().await;
        let reply = verify(&env, &token.for_link()).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_token".into()));
        assert_eq!(env.dump().await, before, "nothing changed");
    }

    #[tokio::test]
    async fn an_older_or_expired_change_link_is_invalid_and_changes_nothing() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("older")).await;
        let older = pending_change(&env, &user, &unique_email("first")).await;
        let newer = pending_change(&env, &user, &unique_email("second")).await;
        let before = env.dump().await;
        let reply = verify(&env, &older.for_link()).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_token".into()), "a newer request replaced it");
        env.clock.advance(Duration::hours(24));
        let late = verify(&env, &newer.for_link()).await;
        assert_eq!((late.status(), late.error()), (400, "invalid_token".into()), "expired after 24 hours");
        assert_eq!(env.dump().await, before);
    }

    #[tokio::test]
    async fn an_address_an_account_took_meanwhile_is_409_but_a_login_counter_is_replaced() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("slow")).await;
        let contested = unique_email("contested");
        let token = pending_change(&env, &user, &contested).await;
        env.register(&contested).await;
        let before = env.dump().await;
        let reply = verify(&env, &token.for_link()).await;
        assert_eq!((reply.status(), reply.error()), (409, "email_taken".into()));
        assert_eq!(env.dump().await, before, "nothing changed");

        let counted = Email::parse(&unique_email("counted")).unwrap();
        let now = env.app.now().timestamp();
        env.app.repo.reserve_password_attempt(&counted, now).await.unwrap();
        env.app.repo.expire_login_counter(&counted, now + 900).await.unwrap();
        let token = pending_change(&env, &user, counted.as_str()).await;
        assert_eq!(verify(&env, &token.for_link()).await.status(), 200);
        let item =
            env.dump().await.into_iter().find(|i| i["pk"].as_s().unwrap() == &format!("EMAIL#{}", counted.as_str()));
        let item = item.expect("the new login item");
        assert_eq!(item["userId"].as_s().unwrap(), &user.id);
        for gone in ["ttl", "pwFails", "pwWindowStart"] {
            assert!(!item.contains_key(gone), "the counter's {gone} stayed on the account's login item");
        }
    }

    #[tokio::test]
    async fn five_accounts_confirming_a_change_to_one_address_at_once_one_wins() {
        let env = TestEnv::new().await;
        let contested = unique_email("one-address");
        let mut users = Vec::new();
        let mut tokens = Vec::new();
        for k in 0..5 {
            let user = env.register(&unique_email(&format!("racer{k}"))).await;
            tokens.push(pending_change(&env, &user, &contested).await);
            users.push(user);
        }
        let links: Vec<String> = tokens.iter().map(MailToken::for_link).collect();
        let replies = futures::future::join_all(links.iter().map(|link| verify(&env, link))).await;
        let outcomes: Vec<(u16, String)> = replies.iter().map(|r| (r.status(), r.error())).collect();
        let winners: Vec<usize> = (0..5).filter(|k| outcomes[*k].0 == 200).collect();
        assert_eq!(winners.len(), 1, "{outcomes:?}");
        assert!(outcomes.iter().filter(|o| o.0 != 200).all(|o| *o == (409, "email_taken".to_string())), "{outcomes:?}");
        let winner = &users[winners[0]];
        let owner = env.app.repo.login_of(&Email::parse(&contested).unwrap()).await.unwrap().unwrap();
        assert_eq!(owner.account.user_id, winner.id, "the address is the winner's");
        for (k, user) in users.iter().enumerate().filter(|(k, _)| *k != winners[0]) {
            let stored = env.user(&user.id).await;
            assert_eq!(
                (stored.email.as_str(), stored.version),
                (user.email.as_str(), user.version),
                "loser {k} changed"
            );
            assert!(env.app.repo.login_of(&user.email).await.unwrap().is_some(), "loser {k} lost its address");
        }
    }

    #[tokio::test]
    async fn an_unreachable_dynamodb_at_the_commit_is_503_and_nothing_is_half_written() {
        let (proxy, env) = behind_proxy().await;
        let user = env.register(&unique_email("outage")).await;
        let new = unique_email("later");
        let token = pending_change(&env, &user, &new).await;
        let before = env.dump().await;
        // The profile and the old login item are read; the transaction finds DynamoDB gone.
        proxy.fail_after(2, Fault::Refuse);
        let reply = verify(&env, &token.for_link()).await;
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
        proxy.set(Fault::None);
        assert_eq!(env.dump().await, before, "nothing half-written");
        assert!(mail_to(&new).await.is_empty(), "a notice of a change that did not happen");
        assert_eq!(verify(&env, &token.for_link()).await.status(), 200, "the link still works");
    }
}
