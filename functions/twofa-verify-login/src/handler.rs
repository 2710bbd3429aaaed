//! `POST /auth/2fa/verify-login`: the second step of a sign-in with 2FA.
//! Check the pre-2FA token, reserve an attempt (one update that also reads the
//! user, refuses a token that already succeeded, and uses up a passkey's
//! ceremony), check the code, backup code or passkey, and commit the session
//! in one transaction that spends the token and records what was proven
//! (and, when asked, remembers the browser: one more read, of its devices).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::crypto::DeviceToken;
use shared::domain::{Aal, ClientInfo, DEVICE_TTL_SECS, EventKind, MAX_DEVICES, SecondFactor};
use shared::flows::second_factor::{ceremony_of, check, purpose, record_wrong_code, refusal};
use shared::flows::session::{NewSession, Subject};
use shared::http::{
    DEVICE_COOKIE, TWOFA_COOKIE, UserView, VerifyLoginBody, cookie, json_body, json_response, with_cookies,
};
use shared::store::writes::{self, Pre2faSpend};
use shared::store::{DeviceRecord, UserRecord, Write};
use shared::tokens::{self, Pre2faClaims};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let token = cookie(&req, TWOFA_COOKIE).ok_or(ApiError::SessionExpired)?;
    let keys = app.keyring.keys().await?;
    let now = app.now();
    let claims =
        tokens::verify_or::<Pre2faClaims>(keys, &token, &app.config.issuer, now.timestamp(), ApiError::SessionExpired)?;
    let (presented, remember) = match json_body::<VerifyLoginBody>(&req) {
        Ok(body) => (body.proof, body.remember_device),
        // The token's server-side state comes first: a used one is 401 whatever the body.
        Err(bad_body) if app.repo.pre2fa_live(&claims.reg.sub, &claims.jti, claims.ver).await? => {
            return Err(bad_body);
        }
        Err(_) => return Err(ApiError::SessionExpired),
    };

    let ceremony = ceremony_of(&presented, purpose::VERIFY_LOGIN);
    let (user, used) = app
        .repo
        .reserve_sign_in_attempt(&claims.reg.sub, claims.ver, &claims.jti, ceremony, now.timestamp())
        .await
        .map_err(expired)?;
    if !user.twofa_enabled() {
        return Err(ApiError::SessionExpired);
    }
    let client = ClientInfo::of(&req);
    let Some(proven) = check(app, keys, &user, &presented, used.as_ref(), now.timestamp() as u64)? else {
        // A wrong proof does not use up the token (a passkey's ceremony is used up).
        return Err(record_wrong_code(app, &user, refusal(&presented), &client).await);
    };

    let event = match proven.factor {
        SecondFactor::BackupCode => EventKind::BackupCodeUsed,
        _ => EventKind::TwofaVerified,
    };
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version };
    let issuer = app.issuer(&req).await?;
    let session =
        NewSession::issue(app, &issuer, subject, Some(proven.factor), (now.timestamp(), now.timestamp()), &client)?;
    let spend = Pre2faSpend { nonce: &claims.jti, expires_at: claims.reg.exp, now: now.timestamp() };
    let mut commit: Vec<Write> =
        vec![writes::accept_code(&user, &proven.proof, now.timestamp(), Some(spend)), session.write()];
    let mut events = vec![event];
    let mut cookies = session.cookies(app);
    if remember {
        let token = DeviceToken::generate();
        commit.extend(remember_device(app, &user, &token, &client).await?);
        events.push(EventKind::DeviceRemembered);
        cookies.push(app.config.cookies.set(DEVICE_COOKIE, token.cookie_value()));
    }
    commit.extend(writes::audit(&user.id, &events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await.map_err(expired)?;
    let left = user.backup_hashes.len().saturating_sub(1);
    app.mailer.notify(&user.email, &[event], now.timestamp_millis(), &client, Some(left)).await;

    let view = UserView::of(&user, Aal::Two);
    let response = json_response(StatusCode::OK, &json!({ "message": "2FA verified", "user": view }));
    Ok(with_cookies(response, cookies))
}

/// The writes that remember this browser under the user's token version,
/// making room: devices a version bump or their 30 days ended go, and the
/// least recently used beyond nine, so that at most ten remain.
async fn remember_device(
    app: &App,
    user: &UserRecord,
    token: &DeviceToken,
    client: &ClientInfo,
) -> Result<Vec<Write>, ApiError> {
    let now = app.now().timestamp();
    let (mut live, dead): (Vec<DeviceRecord>, Vec<DeviceRecord>) =
        app.repo.devices(&user.id).await?.into_iter().partition(|device| device.live_for(user.version, now));
    live.sort_by_key(|device| std::cmp::Reverse(device.last_used_at));
    let evicted = live.iter().skip(MAX_DEVICES - 1).chain(&dead);
    let mut commit: Vec<Write> = evicted.map(|device| writes::drop_device(&user.id, &device.id)).collect();
    commit.push(writes::remember_device(&DeviceRecord {
        user_id: user.id.clone(),
        id: token.id(),
        device: client.device(),
        ip: client.ip.clone(),
        created_at: now,
        last_used_at: now,
        version: user.version,
        expires_at: now + DEVICE_TTL_SECS,
    }));
    Ok(commit)
}

/// At this route, a token that lost its standing is an expired sign-in step.
fn expired(err: ApiError) -> ApiError {
    match err {
        ApiError::StaleVersion | ApiError::TwofaNotEnabled => ApiError::SessionExpired,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::{Value, json};
    use shared::store::writes;
    use testkit::proxy::Fault;
    use testkit::{Enrolled, Reply, TestEnv, call, event, timed};

    async fn verify(env: &TestEnv, pre2fa: &str, body: Value) -> Reply {
        call(env, handle, event("twofa-verify-login").cookie("twofa_token", pre2fa).json(body).request()).await
    }

    async fn enrolled(env: &TestEnv, email: &str) -> Enrolled {
        env.enroll(&env.register(email).await).await
    }

    fn wrong(code: &str) -> String {
        format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
    }

    #[tokio::test]
    async fn the_right_code_opens_an_aal2_session_in_two_calls() {
        let env = TestEnv::new().await;
        let alice = enrolled(&env, "alice@example.com").await;
        let pre2fa = env.pre2fa(&alice.user).await;
        env.keys().await;
        env.calls.reset();
        let reply = verify(&env, &pre2fa, json!({ "code": env.code(&alice.secret) })).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems"]);
        assert_eq!(
            reply.json(),
            json!({ "message": "2FA verified", "user": {
                "id": alice.user.id, "email": "alice@example.com", "emailVerified": false, "role": "user", "twoFactorEnabled": true, "aal": 2, "passkeys": 0 } })
        );
        assert!(!reply.cookie("access_token").unwrap().is_empty());
        assert!(!reply.cookie("refresh_token").unwrap().is_empty());
        assert_eq!(reply.cookie("twofa_token").as_deref(), Some(""), "the pre-2FA cookie is cleared");
    }

    #[tokio::test]
    async fn a_pre2fa_token_succeeds_once() {
        let env = TestEnv::new().await;
        let bob = enrolled(&env, "bob@example.com").await;
        let pre2fa = env.pre2fa(&bob.user).await;
        assert_eq!(verify(&env, &pre2fa, json!({ "code": env.code(&bob.secret) })).await.status(), 200);
        env.clock.advance(Duration::seconds(30));
        for body in [json!({ "code": env.code(&bob.secret) }), json!({ "code": "000000" }), json!({ "nope": 1 })] {
            let reply = verify(&env, &pre2fa, body).await;
            assert_eq!((reply.status(), reply.error()), (401, "session_expired".into()));
        }
    }

    #[tokio::test]
    async fn a_spent_token_replayed_with_wrong_codes_is_401_and_counts_no_attempt() {
        let env = TestEnv::new().await;
        let pat = enrolled(&env, "pat@example.com").await;
        let pre2fa = env.pre2fa(&pat.user).await;
        assert_eq!(verify(&env, &pre2fa, json!({ "code": env.code(&pat.secret) })).await.status(), 200);
        for _ in 0..6 {
            let reply = verify(&env, &pre2fa, json!({ "code": wrong(&env.code(&pat.secret)) })).await;
            assert_eq!((reply.status(), reply.error()), (401, "session_expired".into()));
        }
        assert_eq!(env.user(&pat.user.id).await.code_attempts, 0, "the replays counted attempts");
        let own = verify(&env, &env.pre2fa(&pat.user).await, json!({ "backupCode": pat.backup_codes[0] })).await;
        assert_eq!(own.status(), 200, "the user is not locked out by someone else's replays");
    }

    #[tokio::test]
    async fn spent_tokens_are_forgotten_once_they_have_expired() {
        let env = TestEnv::new().await;
        let rae = enrolled(&env, "rae@example.com").await;
        let first = env.pre2fa(&rae.user).await;
        assert_eq!(verify(&env, &first, json!({ "code": env.code(&rae.secret) })).await.status(), 200);
        assert_eq!(env.user(&rae.user.id).await.spent_pre2fa.len(), 1);
        env.clock.advance(Duration::minutes(6));
        let second = env.pre2fa(&rae.user).await;
        assert_eq!(verify(&env, &second, json!({ "code": env.code(&rae.secret) })).await.status(), 200);
        let spent = env.user(&rae.user.id).await.spent_pre2fa;
        let nonce = env.pre2fa_claims(&second).await.jti;
        assert_eq!(spent.keys().collect::<Vec<_>>(), [&nonce], "the expired nonce was pruned");
    }

    #[tokio::test]
    async fn the_same_code_is_accepted_once_even_across_two_logins() {
        let env = TestEnv::new().await;
        let cai = enrolled(&env, "cai@example.com").await;
        let code = env.code(&cai.secret);
        let (first, second) = (env.pre2fa(&cai.user).await, env.pre2fa(&cai.user).await);
        assert_eq!(verify(&env, &first, json!({ "code": code })).await.status(), 200);
        let replay = verify(&env, &second, json!({ "code": code })).await;
        assert_eq!((replay.status(), replay.error()), (400, "invalid_code".into()));
        // An earlier step than the last accepted one is refused too, though inside the window.
        let previous = shared::factors::totp::code_at(&cai.secret, env.unix_now() - 30);
        assert_eq!(verify(&env, &second, json!({ "code": previous })).await.status(), 400);
    }

    #[tokio::test]
    async fn one_step_of_drift_is_accepted_two_are_not() {
        let env = TestEnv::new().await;
        let dee = enrolled(&env, "dee@example.com").await;
        // Far past the last accepted step, so only the window decides.
        env.clock.advance(Duration::minutes(5));
        let two_back = shared::factors::totp::code_at(&dee.secret, env.unix_now() - 60);
        assert_eq!(verify(&env, &env.pre2fa(&dee.user).await, json!({ "code": two_back })).await.status(), 400);
        let one_back = shared::factors::totp::code_at(&dee.secret, env.unix_now() - 30);
        assert_eq!(verify(&env, &env.pre2fa(&dee.user).await, json!({ "code": one_back })).await.status(), 200);
        let one_ahead = shared::factors::totp::code_at(&dee.secret, env.unix_now() + 30);
        assert_eq!(verify(&env, &env.pre2fa(&dee.user).await, json!({ "code": one_ahead })).await.status(), 200);
    }

    #[tokio::test]
    async fn a_wrong_code_does_not_use_up_the_token() {
        let env = TestEnv::new().await;
        let eli = enrolled(&env, "eli@example.com").await;
        let pre2fa = env.pre2fa(&eli.user).await;
        let reply = verify(&env, &pre2fa, json!({ "code": wrong(&env.code(&eli.secret)) })).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_code".into()));
        assert_eq!(verify(&env, &pre2fa, json!({ "code": env.code(&eli.secret) })).await.status(), 200);
        assert_eq!(env.user(&eli.user.id).await.code_attempts, 0, "a correct code resets the count");
    }

    #[tokio::test]
    async fn an_expired_or_forged_pre2fa_token_is_session_expired() {
        let env = TestEnv::new().await;
        let fay = enrolled(&env, "fay@example.com").await;
        let pre2fa = env.pre2fa(&fay.user).await;
        env.clock.advance(Duration::seconds(5 * 60));
        let late = verify(&env, &pre2fa, json!({ "code": env.code(&fay.secret) })).await;
        assert_eq!((late.status(), late.error()), (401, "session_expired".into()));

        let session = env.sign_in(&fay.user, Some(SecondFactor::Totp)).await;
        for token in [session.access_token.as_str(), session.refresh_token.as_str(), "e30.e30.e30"] {
            assert_eq!(verify(&env, token, json!({ "code": env.code(&fay.secret) })).await.status(), 401);
        }
        let none = call(&env, handle, event("twofa-verify-login").cookies::<&str>(&[]).request()).await;
        assert_eq!((none.status(), none.error()), (401, "session_expired".into()));
    }

    #[tokio::test]
    async fn exactly_one_of_code_and_backup_code() {
        let env = TestEnv::new().await;
        let gil = enrolled(&env, "gil@example.com").await;
        let pre2fa = env.pre2fa(&gil.user).await;
        for body in [json!({}), json!({ "code": env.code(&gil.secret), "backupCode": gil.backup_codes[0] })] {
            let reply = verify(&env, &pre2fa, body).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()));
        }
        assert_eq!(env.user(&gil.user.id).await.code_attempts, 0);
    }

    #[tokio::test]
    async fn a_backup_code_works_once_in_any_spelling() {
        let env = TestEnv::new().await;
        let hal = enrolled(&env, "hal@example.com").await;
        let code = hal.backup_codes[4].to_uppercase().replace('-', " ");
        let reply = verify(&env, &env.pre2fa(&hal.user).await, json!({ "backupCode": code })).await;
        assert_eq!(reply.status(), 200);
        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!(claims.amr, ["pwd", "backup"]);
        let again = verify(&env, &env.pre2fa(&hal.user).await, json!({ "backupCode": hal.backup_codes[4] })).await;
        assert_eq!((again.status(), again.error()), (400, "invalid_code".into()));
        assert_eq!(env.user(&hal.user.id).await.backup_hashes.len(), 9);
    }

    #[tokio::test]
    async fn five_wrong_codes_lock_every_code_out_the_right_one_included_until_the_window_passes() {
        let env = TestEnv::new().await;
        let ida = enrolled(&env, "ida@example.com").await;
        let pre2fa = env.pre2fa(&ida.user).await;
        for _ in 0..5 {
            let reply = verify(&env, &pre2fa, json!({ "code": wrong(&env.code(&ida.secret)) })).await;
            assert_eq!(reply.status(), 400);
        }
        let locked = verify(&env, &pre2fa, json!({ "code": env.code(&ida.secret) })).await;
        assert_eq!((locked.status(), locked.error()), (429, "too_many_attempts".into()));
        assert_eq!(locked.header("retry-after"), Some("900"));
        let backup = verify(&env, &pre2fa, json!({ "backupCode": ida.backup_codes[0] })).await;
        assert_eq!(backup.status(), 429);

        env.clock.advance(Duration::minutes(15));
        let fresh = env.pre2fa(&ida.user).await;
        assert_eq!(verify(&env, &fresh, json!({ "code": env.code(&ida.secret) })).await.status(), 200);
    }

    #[tokio::test]
    async fn twenty_concurrent_wrong_codes_get_at_most_five_checked() {
        let env = TestEnv::new().await;
        let jo = enrolled(&env, "jo@example.com").await;
        let pre2fa = env.pre2fa(&jo.user).await;
        let bad = wrong(&env.code(&jo.secret));
        let guesses = (0..20).map(|_| verify(&env, &pre2fa, json!({ "code": bad })));
        let statuses: Vec<u16> = futures::future::join_all(guesses).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 5, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 15, "{statuses:?}");
    }

    #[tokio::test]
    async fn ten_concurrent_verifications_with_one_token_and_the_right_code_succeed_once() {
        let env = TestEnv::new().await;
        let kim = enrolled(&env, "kim@example.com").await;
        let pre2fa = env.pre2fa(&kim.user).await;
        let code = env.code(&kim.secret);
        let tries = (0..10).map(|_| verify(&env, &pre2fa, json!({ "code": code })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        let sessions = env.dump().await.iter().filter(|i| i["sk"].as_s().unwrap().starts_with("SESSION#")).count();
        assert_eq!(sessions, 1);
    }

    #[tokio::test]
    async fn ten_logins_racing_with_the_same_code_accept_it_once() {
        // Different tokens pass the nonce condition: only the step condition guards.
        let env = TestEnv::new().await;
        let ned = enrolled(&env, "ned@example.com").await;
        let mut tokens = Vec::new();
        for _ in 0..10 {
            tokens.push(env.pre2fa(&ned.user).await);
        }
        let code = env.code(&ned.secret);
        let tries = tokens.iter().map(|t| verify(&env, t, json!({ "code": code })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    }

    #[tokio::test]
    async fn one_token_with_ten_different_backup_codes_at_once_succeeds_once() {
        // Different codes pass every per-code condition: only the nonce guards.
        let env = TestEnv::new().await;
        let mia = enrolled(&env, "mia@example.com").await;
        let pre2fa = env.pre2fa(&mia.user).await;
        let tries = mia.backup_codes.iter().map(|code| verify(&env, &pre2fa, json!({ "backupCode": code })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    }

    #[tokio::test]
    async fn ten_concurrent_uses_of_one_backup_code_succeed_once() {
        let env = TestEnv::new().await;
        let lee = enrolled(&env, "lee@example.com").await;
        let mut tokens = Vec::new();
        for _ in 0..10 {
            tokens.push(env.pre2fa(&lee.user).await);
        }
        let tries = tokens.iter().map(|t| verify(&env, t, json!({ "backupCode": lee.backup_codes[0] })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    }

    #[tokio::test]
    async fn after_the_whole_flow_the_table_holds_no_secret_code_or_password() {
        let env = TestEnv::new().await;
        let max = enrolled(&env, "max@example.com").await;
        let code = env.code(&max.secret);
        verify(&env, &env.pre2fa(&max.user).await, json!({ "code": wrong(&code) })).await;
        verify(&env, &env.pre2fa(&max.user).await, json!({ "code": code })).await;
        verify(&env, &env.pre2fa(&max.user).await, json!({ "backupCode": max.backup_codes[1] })).await;
        assert!(!env.table_contains(max.secret.to_base32().as_bytes()).await, "base32 secret stored");
        assert!(!env.table_contains(max.secret.bytes()).await, "raw secret stored");
        for backup in &max.backup_codes {
            assert!(!env.table_contains(backup.replace('-', "").as_bytes()).await, "backup code stored");
        }
        assert!(!env.table_contains(testkit::PASSWORD.as_bytes()).await);
        assert!(!env.table_contains(&env.data_key_plaintext().await).await);
    }

    #[tokio::test]
    async fn dynamodb_failing_at_the_commit_leaves_nothing_half_written() {
        for fault in [Fault::Refuse, Fault::Stall] {
            let (proxy, env) = testkit::behind_proxy().await;
            let ola = enrolled(&env, "ola@example.com").await;
            let pre2fa = env.pre2fa(&ola.user).await;
            // The attempt reservation passes; the commit transaction does not.
            proxy.fail_after(1, fault);
            let reply = timed(
                &format!("verify-login, commit {fault:?}"),
                verify(&env, &pre2fa, json!({ "code": env.code(&ola.secret) })),
            )
            .await;
            assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
            assert!(reply.cookie("access_token").is_none());
            let items = env.dump().await;
            let sks: Vec<&str> = items.iter().map(|i| i["sk"].as_s().unwrap().as_str()).collect();
            assert!(!sks.iter().any(|sk| sk.starts_with("SESSION#")), "{sks:?}");
            proxy.set(Fault::None);
            assert!(env.user(&ola.user.id).await.spent_pre2fa.is_empty(), "the token is not spent");
            assert_eq!(testkit::last_step(&env.user(&ola.user.id).await), testkit::last_step(&ola.user));
            let retried = verify(&env, &pre2fa, json!({ "code": env.code(&ola.secret) })).await;
            assert_eq!(retried.status(), 200, "the same token and code work once AWS is back");
        }
    }

    #[tokio::test]
    async fn a_backup_code_sign_in_and_a_code_lockout_each_mail_one_notice() {
        let env = TestEnv::new().await;
        let address = testkit::unique_email("notice-signin");
        let kit = enrolled(&env, &address).await;
        let reply = verify(&env, &env.pre2fa(&kit.user).await, json!({ "backupCode": kit.backup_codes[2] })).await;
        assert_eq!(reply.status(), 200);
        let client = ClientInfo::of(&event("twofa-verify-login").request());
        let used =
            testkit::one_notice(&address, "A backup code was used", env.app.now(), &client, &[&kit.backup_codes[2]])
                .await;
        assert!(used.body.contains("9 backup codes left."));

        env.clock.advance(Duration::seconds(1));
        let pre2fa = env.pre2fa(&kit.user).await;
        let bad = wrong(&env.code(&kit.secret));
        for _ in 0..5 {
            assert_eq!(verify(&env, &pre2fa, json!({ "code": bad })).await.status(), 400);
        }
        testkit::one_notice(&address, "Sign-in locked for now", env.app.now(), &client, &[&bad, &pre2fa]).await;
    }

    // ---- passkeys -----------------------------------------------------------

    use testkit::passkey::{Behaviour, SoftPasskey, Tamper};
    use testkit::passkey_proof;

    /// A user whose only factor is a passkey, and a live pre-2FA token.
    async fn with_passkey(
        env: &TestEnv,
        email: &str,
        behaviour: Behaviour,
    ) -> (shared::store::UserRecord, SoftPasskey, String) {
        let (user, soft, factor_id) = env.add_passkey(&env.register(email).await, behaviour).await;
        (user, soft, factor_id)
    }

    #[tokio::test]
    async fn a_passkey_opens_an_aal2_session_in_two_calls_and_records_its_counter_and_use() {
        let env = TestEnv::new().await;
        let (user, mut soft, factor_id) = with_passkey(&env, "pk@example.com", Behaviour::default()).await;
        let pre2fa = env.pre2fa(&user).await;
        let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
        env.keys().await;
        env.calls.reset();
        let reply = verify(
            &env,
            &pre2fa,
            json!({ "passkey": passkey_proof(&mut soft, &ceremony, &options, Tamper::default()) }),
        )
        .await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems"]);
        assert_eq!(reply.json()["user"]["passkeys"], 1);
        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!((claims.aal, claims.amr), (Aal::Two, vec!["pwd".to_string(), "hwk".to_string()]));
        let stored = env.user(&user.id).await;
        let factor = stored.factor(&factor_id).unwrap();
        assert_eq!(factor.last_used_at, Some(env.app.now().timestamp()));
        assert!(matches!(factor.secret, shared::store::FactorSecret::Passkey { counter: 1, .. }));
        assert!(!stored.ceremonies.contains_key(&ceremony), "the ceremony is used up");
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 5).await.unwrap();
        assert!(events.iter().any(|event| event.kind == EventKind::TwofaVerified));
    }

    #[tokio::test]
    async fn a_synced_passkey_says_swk_and_may_count_nothing() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) =
            with_passkey(&env, "synced@example.com", Behaviour { synced: true, ..Default::default() }).await;
        for _ in 0..2 {
            let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
            let proof = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
            let reply = verify(&env, &env.pre2fa(&user).await, json!({ "passkey": proof })).await;
            assert_eq!(reply.status(), 200, "a counter of 0 is accepted again: {}", reply.json());
            let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
            assert_eq!(claims.amr, ["pwd", "swk"]);
        }
    }

    #[tokio::test]
    async fn a_bad_signature_a_missing_uv_or_a_counter_that_did_not_grow_is_invalid_credential_and_counts() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = with_passkey(&env, "bad@example.com", Behaviour::default()).await;
        let pre2fa = env.pre2fa(&user).await;
        let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
        let ok = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        assert_eq!(verify(&env, &pre2fa, json!({ "passkey": ok })).await.status(), 200);
        let pre2fa = env.pre2fa(&user).await;
        let mut no_uv = soft.clone();
        no_uv.behaviour.user_verified = false;
        type MakeProof = Box<dyn Fn(&mut SoftPasskey, &str, &Value) -> Value>;
        let broken: [(&str, MakeProof); 3] = [
            (
                "bad signature",
                Box::new(|s, c, o| passkey_proof(s, c, o, Tamper { bad_signature: true, ..Default::default() })),
            ),
            (
                "no user verification",
                Box::new(move |_, c, o| passkey_proof(&mut no_uv.clone(), c, o, Tamper::default())),
            ),
            (
                "counter 1 again",
                Box::new(|s, c, o| passkey_proof(s, c, o, Tamper { counter: Some(1), ..Default::default() })),
            ),
        ];
        for (i, (what, make)) in broken.iter().enumerate() {
            let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
            let reply = verify(&env, &pre2fa, json!({ "passkey": make(&mut soft, &ceremony, &options) })).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()), "{what}");
            assert_eq!(env.user(&user.id).await.code_attempts, i as i64 + 1, "{what} counts as a wrong code");
            // Used once, whatever the outcome.
            let again = verify(&env, &pre2fa, json!({ "passkey": make(&mut soft, &ceremony, &options) })).await;
            assert_eq!((again.status(), again.error()), (400, "ceremony_expired".into()), "{what}");
        }
    }

    #[tokio::test]
    async fn hostile_assertions_are_invalid_credential_count_as_wrong_codes_and_open_no_session() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = with_passkey(&env, "hostile@example.com", Behaviour::default()).await;
        let (_, any_options) = env.passkey_challenge(&user, "verify-login").await;
        let any = passkey_proof(&mut soft.clone(), "", &any_options, Tamper::default());
        for case in 0..testkit::passkey::hostile_assertions(&any["credential"]).len() {
            // A new attempt window each time (the code limit is 5 in 15 minutes).
            env.clock.advance(chrono::Duration::minutes(16));
            let pre2fa = env.pre2fa(&user).await;
            // Each made from an assertion that would verify for its own ceremony.
            let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
            let valid = passkey_proof(&mut soft.clone(), &ceremony, &options, Tamper::default());
            let (what, credential) = testkit::passkey::hostile_assertions(&valid["credential"]).swap_remove(case);
            let reply =
                verify(&env, &pre2fa, json!({ "passkey": { "ceremonyId": ceremony, "credential": credential } })).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()), "{what}");
            assert!(reply.set_cookies().is_empty(), "{what}: no session");
            assert_eq!(env.user(&user.id).await.code_attempts, 1, "{what} counts as a wrong code");
        }
        env.clock.advance(chrono::Duration::minutes(16));
        let pre2fa = env.pre2fa(&user).await;
        let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
        let valid = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        let before = env.user(&user.id).await;
        for (what, passkey) in [
            ("a string", json!("proof")),
            ("no ceremonyId", json!({ "credential": valid["credential"] })),
            ("a numeric ceremonyId", json!({ "ceremonyId": 7, "credential": valid["credential"] })),
            ("an unknown field", json!({ "ceremonyId": ceremony, "credential": valid["credential"], "counter": 9 })),
        ] {
            let reply = verify(&env, &pre2fa, json!({ "passkey": passkey })).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()), "{what}");
        }
        let both = json!({ "passkey": valid, "code": "123456" });
        assert_eq!(verify(&env, &pre2fa, both).await.error(), "invalid_request", "two proofs");
        let after = env.user(&user.id).await;
        assert_eq!(after.code_attempts, before.code_attempts, "bad shapes count nothing");
        // The ceremony none of them used still works.
        assert_eq!(verify(&env, &pre2fa, json!({ "passkey": valid })).await.status(), 200);
    }

    #[tokio::test]
    async fn a_ceremony_of_another_purpose_or_user_is_expired_and_stays_for_its_own_use() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = with_passkey(&env, "purpose@example.com", Behaviour::default()).await;
        let (other, mut other_soft, _) = with_passkey(&env, "other@example.com", Behaviour::default()).await;
        let pre2fa = env.pre2fa(&user).await;
        let (account, options) = env.passkey_challenge(&user, "account").await;
        let proof = passkey_proof(&mut soft, &account, &options, Tamper::default());
        let reply = verify(&env, &pre2fa, json!({ "passkey": proof })).await;
        assert_eq!((reply.status(), reply.error()), (400, "ceremony_expired".into()));
        assert!(env.user(&user.id).await.ceremonies.contains_key(&account), "not used up for its rightful use");
        assert_eq!(env.user(&user.id).await.code_attempts, 0, "nothing counted");
        // Another account's ceremony and passkey, with this user's sign-in token.
        let (theirs, their_options) = env.passkey_challenge(&other, "verify-login").await;
        let proof = passkey_proof(&mut other_soft, &theirs, &their_options, Tamper::default());
        let reply = verify(&env, &pre2fa, json!({ "passkey": proof })).await;
        assert_eq!((reply.status(), reply.error()), (400, "ceremony_expired".into()));
        // This user's ceremony, answered by the other account's passkey.
        let (mine, my_options) = env.passkey_challenge(&user, "verify-login").await;
        let proof = passkey_proof(&mut other_soft, &mine, &my_options, Tamper::default());
        let reply = verify(&env, &pre2fa, json!({ "passkey": proof })).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()));
        env.clock.advance(Duration::minutes(6));
        let (late, late_options) = env.passkey_challenge(&user, "verify-login").await;
        env.clock.advance(Duration::minutes(6));
        let pre2fa = env.pre2fa(&user).await;
        let proof = passkey_proof(&mut soft, &late, &late_options, Tamper::default());
        let reply = verify(&env, &pre2fa, json!({ "passkey": proof })).await;
        assert_eq!((reply.status(), reply.error()), (400, "ceremony_expired".into()), "five minutes");
        let _ = other;
    }

    #[tokio::test]
    async fn one_passkey_assertion_raced_through_verify_login_opens_one_session() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) =
            with_passkey(&env, "race-pk@example.com", Behaviour { synced: true, ..Default::default() }).await;
        let (ceremony, options) = env.passkey_challenge(&user, "verify-login").await;
        let proof = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        // Ten sign-in tokens (ten tabs), the same assertion in each.
        let mut tokens = Vec::new();
        for _ in 0..10 {
            tokens.push(env.pre2fa(&user).await);
        }
        let tries = tokens.iter().map(|token| verify(&env, token, json!({ "passkey": proof.clone() })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        let sessions =
            env.dump().await.iter().filter(|item| item["sk"].as_s().unwrap().starts_with("SESSION#")).count();
        assert_eq!(sessions, 1);
    }

    #[tokio::test]
    async fn with_several_apps_a_code_of_any_is_accepted_and_a_named_one_must_match() {
        let env = TestEnv::new().await;
        let kit = enrolled(&env, "apps@example.com").await;
        let second = env.start_setup(&kit.user).await;
        let user = env.user(&kit.user.id).await;
        let sealed = user.pending.as_ref().unwrap().sealed_secret.clone();
        let name = shared::domain::FactorName::parse("Tablet").unwrap();
        let now = env.app.now().timestamp();
        let tablet = shared::flows::factors::new_app(
            &name,
            sealed.clone(),
            shared::factors::totp::step_at(now as u64) - 2,
            now * 1000,
        );
        env.app.repo.commit(vec![writes::add_app(&user, &tablet, &sealed, now)]).await.unwrap();
        let named_wrong = json!({ "code": env.code(&second), "factorId": kit.factor_id });
        let reply = verify(&env, &env.pre2fa(&kit.user).await, named_wrong).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_code".into()), "another app's code for this app");
        let unknown = json!({ "code": env.code(&second), "factorId": "nope" });
        assert_eq!(verify(&env, &env.pre2fa(&kit.user).await, unknown).await.error(), "invalid_code");
        let any = verify(&env, &env.pre2fa(&kit.user).await, json!({ "code": env.code(&second) })).await;
        assert_eq!(any.status(), 200, "the second app's code, matched to it");
        let stored = env.user(&kit.user.id).await;
        let step = |id: &str| match &stored.factor(id).unwrap().secret {
            shared::store::FactorSecret::Totp { last_step, .. } => *last_step,
            _ => None,
        };
        assert_eq!(step(&tablet.id), Some(shared::factors::totp::step_at(env.unix_now())), "recorded on its own app");
        assert_ne!(step(&kit.factor_id), step(&tablet.id), "each app its own last step");
        let first_app = verify(
            &env,
            &env.pre2fa(&kit.user).await,
            json!({ "code": env.code(&kit.secret), "factorId": kit.factor_id }),
        )
        .await;
        assert_eq!(first_app.status(), 200, "the same step on the other app is that app's first use");
    }

    #[tokio::test]
    async fn remember_device_sets_a_cookie_whose_hash_alone_is_stored() {
        let env = TestEnv::new().await;
        let kit = enrolled(&env, "remember@example.com").await;
        let pre2fa = env.pre2fa(&kit.user).await;
        env.keys().await;
        env.clock.advance(Duration::seconds(1));
        env.calls.reset();
        let reply = verify(&env, &pre2fa, json!({ "code": env.code(&kit.secret), "rememberDevice": true })).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.Query", "DynamoDB.TransactWriteItems"]);
        let cookie = reply.set_cookies().into_iter().find(|c| c.name() == "device_token").unwrap();
        assert_eq!((cookie.path(), cookie.http_only()), (Some("/auth"), Some(true)));
        assert_eq!(cookie.max_age().map(|age| age.whole_days()), Some(30));
        let token = shared::crypto::DeviceToken::parse(cookie.value()).unwrap();
        let devices = env.app.repo.devices(&kit.user.id).await.unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!((devices[0].id.clone(), devices[0].version), (token.id(), kit.user.version));
        assert!(!env.table_contains(cookie.value().as_bytes()).await, "the token itself is not stored");
        let events = env.app.repo.recent_events(&kit.user.id, env.app.now().timestamp(), 2).await.unwrap();
        assert_eq!([events[1].kind, events[0].kind], [EventKind::TwofaVerified, EventKind::DeviceRemembered]);
    }

    #[tokio::test]
    async fn remember_device_with_a_backup_code_or_not_a_boolean_is_400_and_spends_nothing() {
        let env = TestEnv::new().await;
        let kit = enrolled(&env, "backup@example.com").await;
        let pre2fa = env.pre2fa(&kit.user).await;
        for body in [
            json!({ "backupCode": kit.backup_codes[0], "rememberDevice": true }),
            json!({ "code": env.code(&kit.secret), "rememberDevice": "yes" }),
            json!({ "rememberDevice": true }),
        ] {
            let reply = verify(&env, &pre2fa, body.clone()).await;
            assert_eq!((reply.status(), reply.error().as_str()), (400, "invalid_request"), "{body}");
        }
        assert!(env.app.repo.devices(&kit.user.id).await.unwrap().is_empty());
        let reply = verify(&env, &pre2fa, json!({ "backupCode": kit.backup_codes[0], "rememberDevice": false })).await;
        assert_eq!(reply.status(), 200, "the token and the backup code were not spent");
        assert_eq!(reply.cookie("device_token"), None);
    }

    #[tokio::test]
    async fn at_most_ten_devices_the_least_recently_used_forgotten() {
        let env = TestEnv::new().await;
        let kit = enrolled(&env, "ten@example.com").await;
        let mut oldest = String::new();
        for i in 0..10 {
            let token = env.remember_device(&kit.user, &format!("Browser {i}")).await;
            if i == 0 {
                oldest = shared::crypto::DeviceToken::parse(&token).unwrap().id();
            }
            env.clock.advance(Duration::seconds(1));
        }
        let pre2fa = env.pre2fa(&kit.user).await;
        let reply = verify(&env, &pre2fa, json!({ "code": env.code(&kit.secret), "rememberDevice": true })).await;
        assert_eq!(reply.status(), 200);
        let devices = env.app.repo.devices(&kit.user.id).await.unwrap();
        assert_eq!(devices.len(), 10);
        assert!(devices.iter().all(|device| device.id != oldest), "the least recently used went");
    }
}
