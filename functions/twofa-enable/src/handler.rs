//! `POST /auth/2fa/enable`: confirm the pending app secret with a code. The
//! first factor turns 2FA on: one transaction moves the sealed secret into
//! a factor, stores the backup-code hashes, records the accepted step and
//! bumps the token version (every other session ends). A further app is
//! added beside the others; sessions and backup codes stay.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, FactorKind, SecondFactor};
use shared::factors::backup_codes::BackupCodeSet;
use shared::factors::totp::{self, TotpSecret};
use shared::flows::factors::{name_of, new_app};
use shared::flows::second_factor::attempt;
use shared::flows::session::{NewSession, Subject};
use shared::http::{AdminRule, FactorView, authenticate, json_body, json_response, with_cookies};
use shared::store::{Write, writes};
use shared::{ApiError, App};
use subtle::ConstantTimeEq;

/// `{"code"}` (or its alias `"token"`), optionally the pending `"secret"` and a `"name"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnableBody {
    code: Option<String>,
    token: Option<String>,
    secret: Option<String>,
    name: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let user = &caller.user;
    let further = user.twofa_enabled();
    if further {
        caller.require_aal2()?;
    }
    let body: EnableBody = json_body(&req)?;
    let code = match (body.code, body.token) {
        (Some(code), None) | (None, Some(code)) => code,
        _ => return Err(ApiError::invalid_request("send the code once, as code or as token")),
    };
    if let Some(name) = &body.name {
        shared::domain::FactorName::parse(name)?;
    }
    let now = app.now();
    caller.may_add_factor(now.timestamp())?;
    let pending = user.pending.as_ref().filter(|p| p.expires_at > now.timestamp()).ok_or(ApiError::SetupExpired)?;
    let name = name_of(body.name.as_deref(), pending.name.as_deref(), FactorKind::Totp)?;
    let issuer = app.issuer(&req).await?;
    let keys = issuer.keys;
    let secret = keys.open_totp_secret(&user.id, &pending.sealed_secret)?;
    if let Some(sent) = body.secret {
        let matches = TotpSecret::from_base32(&sent).is_some_and(|s| s.bytes().ct_eq(secret.bytes()).into());
        if !matches {
            return Err(ApiError::invalid_request("secret is not the one of the pending setup"));
        }
    }

    let client = ClientInfo::of(&req);
    // A new secret starts with no accepted step.
    let (_, step) = attempt(app, user, &client, |_, unix_now| Ok(totp::verify(&secret, &code, unix_now, None))).await?;
    let factor = new_app(&name, pending.sealed_secret.clone(), step, now.timestamp_millis());
    let view = FactorView::from(&factor);

    if further {
        let mut commit = vec![writes::add_app(user, &factor, &pending.sealed_secret, now.timestamp())];
        commit.extend(writes::audit(&user.id, &[EventKind::FactorAdded], now.timestamp_millis(), &client));
        app.repo.commit(commit).await?;
        app.mailer.notify(&user.email, &[EventKind::FactorAdded], now.timestamp_millis(), &client, None).await;
        tracing::info!(user_id = user.id, "authenticator app added");
        return Ok(json_response(StatusCode::OK, &json!({ "message": "factor added", "factor": view })));
    }

    let backup_codes = BackupCodeSet::generate(keys, &user.id);
    // Every other session ends with the version bump; the caller's new one carries the new version.
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version + 1 };
    let session = NewSession::issue(
        app,
        &issuer,
        subject,
        Some(SecondFactor::Totp),
        (now.timestamp(), now.timestamp()),
        &client,
    )?;
    let mut commit: Vec<Write> =
        writes::enable_twofa(user, &factor, &pending.sealed_secret, &backup_codes.hashes, now.timestamp()).into();
    commit.push(session.write());
    commit.extend(writes::audit(&user.id, &[EventKind::TwofaEnabled], now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    app.mailer.notify(&user.email, &[EventKind::TwofaEnabled], now.timestamp_millis(), &client, None).await;

    tracing::info!(user_id = user.id, "2FA enabled");
    let body = json!({ "message": "2FA enabled", "backupCodes": backup_codes.shown, "factor": view });
    Ok(with_cookies(json_response(StatusCode::OK, &body), session.cookies(app)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::{Value, json};
    use shared::flows::session::NewSession;
    use shared::store::UserRecord;
    use testkit::proxy::Fault;
    use testkit::{Reply, TestEnv, call, event, timed};

    /// A signed-in user with a pending setup, and the secret the app scanned.
    async fn pending(env: &TestEnv, email: &str) -> (UserRecord, NewSession, TotpSecret) {
        let user = env.register_verified(email).await;
        let session = env.sign_in(&user, None).await;
        let secret = env.start_setup(&user).await;
        (env.user(&user.id).await, session, secret)
    }

    async fn enable(env: &TestEnv, session: &NewSession, body: Value) -> Reply {
        call(env, handle, event("twofa-enable").cookie("access_token", &session.access_token).json(body).request())
            .await
    }

    #[tokio::test]
    async fn a_correct_code_turns_2fa_on_with_ten_backup_codes_and_fresh_aal2_cookies() {
        let env = TestEnv::new().await;
        let (user, session, secret) = pending(&env, "ena@example.com").await;
        let reply = enable(&env, &session, json!({ "code": env.code(&secret) })).await;
        assert_eq!(reply.status(), 200);
        let body = reply.json();
        assert_eq!(body["message"], "2FA enabled");
        let codes = body["backupCodes"].as_array().unwrap();
        assert_eq!(codes.len(), 10);

        let stored = env.user(&user.id).await;
        assert!(stored.twofa_enabled());
        assert_eq!(stored.version, user.version + 1);
        assert_eq!(testkit::last_step(&stored), Some(env.unix_now() / 30));
        assert_eq!(stored.backup_hashes.len(), 10);
        assert!(stored.pending.is_none());

        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!(
            (claims.aal, claims.amr.clone(), claims.ver),
            (shared::domain::Aal::Two, vec!["pwd".to_string(), "otp".to_string()], stored.version)
        );
        assert!(!reply.cookie("refresh_token").unwrap().is_empty());
        for code in codes {
            assert!(!env.table_contains(code.as_str().unwrap().replace('-', "").as_bytes()).await);
        }
    }

    #[tokio::test]
    async fn token_is_an_alias_and_a_matching_secret_is_accepted() {
        let env = TestEnv::new().await;
        let (_, session, secret) = pending(&env, "alias@example.com").await;
        let body = json!({ "token": env.code(&secret), "secret": secret.to_base32().to_lowercase() });
        assert_eq!(enable(&env, &session, body).await.status(), 200);
    }

    #[tokio::test]
    async fn malformed_bodies_are_400_and_count_nothing() {
        let env = TestEnv::new().await;
        let (user, session, secret) = pending(&env, "body@example.com").await;
        let code = env.code(&secret);
        for body in [
            json!({}),
            json!({ "code": code, "token": code }),
            json!({ "code": 123456 }),
            json!({ "code": code, "extra": true }),
            json!({ "code": code, "secret": TotpSecret::generate().to_base32() }),
        ] {
            let reply = enable(&env, &session, body.clone()).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()), "{body}");
        }
        assert_eq!(env.user(&user.id).await.code_attempts, 0);
    }

    #[tokio::test]
    async fn a_wrong_code_is_400_and_counts_toward_the_limit() {
        let env = TestEnv::new().await;
        let (user, session, secret) = pending(&env, "wrong@example.com").await;
        let wrong = format!("{:06}", (env.code(&secret).parse::<u32>().unwrap() + 1) % 1_000_000);
        let reply = enable(&env, &session, json!({ "code": wrong })).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_code".into()));
        let stored = env.user(&user.id).await;
        assert!(!stored.twofa_enabled());
        assert_eq!(stored.code_attempts, 1);
    }

    #[tokio::test]
    async fn no_pending_or_an_expired_setup_is_setup_expired() {
        let env = TestEnv::new().await;
        let user = env.register_verified("none@example.com").await;
        let session = env.sign_in(&user, None).await;
        let reply = enable(&env, &session, json!({ "code": "123456" })).await;
        assert_eq!((reply.status(), reply.error()), (400, "setup_expired".into()));

        let (_, session, secret) = pending(&env, "late@example.com").await;
        env.clock.advance(Duration::seconds(600));
        let reply = enable(&env, &session, json!({ "code": env.code(&secret) })).await;
        assert_eq!((reply.status(), reply.error()), (400, "setup_expired".into()));
    }

    #[tokio::test]
    async fn enabling_ends_every_other_session() {
        let env = TestEnv::new().await;
        let (user, session, secret) = pending(&env, "others@example.com").await;
        let other = env.sign_in(&user, None).await;
        assert_eq!(enable(&env, &session, json!({ "code": env.code(&secret) })).await.status(), 200);
        let reply = enable(&env, &other, json!({ "code": env.code(&secret) })).await;
        assert_eq!(reply.status(), 401, "the other session's access token still works");
    }

    #[tokio::test]
    async fn a_second_enable_without_a_new_setup_is_setup_expired() {
        let env = TestEnv::new().await;
        let (_, session, secret) = pending(&env, "twice@example.com").await;
        let first = enable(&env, &session, json!({ "code": env.code(&secret) })).await;
        let fresh = first.cookie("access_token").unwrap();
        env.clock.advance(Duration::seconds(30));
        let reply = call(
            &env,
            handle,
            event("twofa-enable").cookie("access_token", &fresh).json(json!({ "code": env.code(&secret) })).request(),
        )
        .await;
        assert_eq!((reply.status(), reply.error()), (400, "setup_expired".into()));
    }

    #[tokio::test]
    async fn a_further_app_keeps_sessions_and_backup_codes_and_a_sixth_factor_is_409() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified("many@example.com").await).await;
        let session = env.sign_in(&kit.user, Some(shared::domain::SecondFactor::Totp)).await;
        for n in 2..=5 {
            let secret = env.start_setup(&env.user(&kit.user.id).await).await;
            env.clock.advance(Duration::seconds(30));
            let body = json!({ "code": env.code(&secret), "name": format!("Phone {n}") });
            let reply = enable(&env, &session, body).await;
            assert_eq!(reply.status(), 200, "{}", reply.json());
            assert_eq!(reply.json()["message"], "factor added");
            assert_eq!(reply.json()["factor"]["name"], format!("Phone {n}"));
            assert_eq!(reply.json()["factor"]["type"], "totp");
            assert!(reply.set_cookies().is_empty(), "no change to cookies");
            let stored = env.user(&kit.user.id).await;
            assert_eq!((stored.factors.len(), stored.backup_hashes.len()), (n, 10));
            assert_eq!(stored.version, kit.user.version, "no session ended");
        }
        let sixth = env.start_setup(&env.user(&kit.user.id).await).await;
        let reply = enable(&env, &session, json!({ "code": env.code(&sixth) })).await;
        assert_eq!((reply.status(), reply.error()), (409, "too_many_factors".into()));
        let events = env.app.repo.recent_events(&kit.user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == EventKind::FactorAdded).count(), 4);
    }

    #[tokio::test]
    async fn dynamodb_failing_at_the_commit_leaves_2fa_off_and_the_setup_pending() {
        let (proxy, env) = testkit::behind_proxy().await;
        let (user, session, secret) = pending(&env, "mid@example.com").await;
        // The session check and the attempt reservation pass; the commit does not.
        proxy.fail_after(2, Fault::Refuse);
        let reply = timed("enable, commit refused", enable(&env, &session, json!({ "code": env.code(&secret) }))).await;
        assert_eq!(reply.status(), 503);
        proxy.set(Fault::None);
        let stored = env.user(&user.id).await;
        assert!(!stored.twofa_enabled() && stored.pending.is_some());
        assert_eq!(stored.version, user.version, "no session ended");
        assert_eq!(enable(&env, &session, json!({ "code": env.code(&secret) })).await.status(), 200);
    }

    #[tokio::test]
    async fn five_concurrent_enables_with_the_right_code_succeed_once() {
        let env = TestEnv::new().await;
        let (user, session, secret) = pending(&env, "race@example.com").await;
        let code = env.code(&secret);
        let tries = (0..5).map(|_| enable(&env, &session, json!({ "code": code })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(env.user(&user.id).await.version, user.version + 1);
    }

    #[tokio::test]
    async fn turning_2fa_on_mails_one_notice_that_holds_no_secret() {
        let env = TestEnv::new().await;
        let address = testkit::unique_email("notice-on");
        let (_, session, secret) = pending(&env, &address).await;
        let code = env.code(&secret);
        let reply = enable(&env, &session, json!({ "code": code })).await;
        assert_eq!(reply.status(), 200);
        let shown: Vec<String> = serde_json::from_value(reply.json()["backupCodes"].clone()).unwrap();
        let mut secrets = vec![secret.to_base32(), code, session.access_token.clone(), session.refresh_token.clone()];
        secrets.extend(shown);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let client = ClientInfo::of(&event("twofa-enable").request());
        testkit::one_notice(&address, "Two-factor authentication is on", env.app.now(), &client, &secrets).await;
    }

    #[tokio::test]
    async fn with_mail_failing_2fa_still_turns_on_and_the_failure_is_logged() {
        let proxy =
            testkit::proxy::FaultProxy::start(testkit::moto_endpoint().trim_start_matches("http://").into()).await;
        let env = TestEnv::mail_behind(&proxy).await;
        let address = testkit::unique_email("no-mail");
        let (user, session, secret) = pending(&env, &address).await;
        proxy.set(Fault::Refuse);
        let (reply, logs) = testkit::with_logs(enable(&env, &session, json!({ "code": env.code(&secret) }))).await;
        assert_eq!(reply.status(), 200);
        assert!(env.user(&user.id).await.twofa_enabled());
        assert!(logs.contains("mail not sent"), "{logs}");
        assert!(testkit::mail_to(&address).await.is_empty());
    }
}
