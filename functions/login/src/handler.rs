//! `POST /auth/login`: the password step. Without 2FA it opens an aal-1
//! session; with 2FA it hands out only a pre-2FA token, unless the browser
//! was remembered at an earlier second factor: then an aal-2 session.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::crypto::DeviceToken;
use shared::domain::{ClientInfo, Email, EventKind, Password, Role, SignIn};
use shared::factors::password;
use shared::flows::accounts;
use shared::flows::session::{NewSession, Subject, pre2fa_token};
use shared::http::{
    Credentials, DEVICE_COOKIE, TWOFA_COOKIE, UserView, cookie, json_body, json_response, with_cookies,
};
use shared::store::{LoginAccount, Write, writes};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let arrived = tokio::time::Instant::now();
    let body: Credentials = json_body(&req)?;
    let email = Email::parse(&body.email)?;
    let password = Password::parse(body.password)?;
    let client = ClientInfo::of(&req);

    // Counted before the password is checked, whether or not an account has
    // this email, so parallel guesses cannot pass the limit and the lockout
    // reveals nothing.
    let login = app.repo.reserve_password_attempt(&email, app.now().timestamp()).await?;
    let stored_hash = login.account.as_ref().map(|account| account.password_hash.as_str());
    if !password::verify(&password, stored_hash).await? {
        return Err(accounts::refuse_password(app, &email, &login, &client, arrived).await);
    }
    let account = login.account.as_ref().expect("only an account's hash verifies");

    if !account.twofa_enabled {
        return open_session(app, &req, account, None, &client).await;
    }
    // A cookie that is not a token, or a device that is not this user's
    // live one, is ignored and cleared: the second factor is asked as usual.
    let device = cookie(&req, DEVICE_COOKIE);
    let Some(token) = device.as_deref().and_then(DeviceToken::parse) else {
        let clear = device.is_some().then(|| app.config.cookies.clear(DEVICE_COOKIE));
        return second_factor_next(app, account, &client, clear).await;
    };
    match open_session(app, &req, account, Some(&token), &client).await {
        Err(ApiError::DeviceNotFound) => {
            second_factor_next(app, account, &client, Some(app.config.cookies.clear(DEVICE_COOKIE))).await
        }
        opened => opened,
    }
}

/// 2FA is on: only a pre-2FA token. The password was right, so the counter
/// resets and the `login` event is written now: a stolen password that stops
/// at the code still shows in the user's log.
async fn second_factor_next(
    app: &App,
    account: &LoginAccount,
    client: &ClientInfo,
    clear_device: Option<String>,
) -> Result<Response<Body>, ApiError> {
    let keys = app.keyring.keys().await?;
    let now = app.now();
    let (_, token) = pre2fa_token(app, keys, &account.user_id, account.version, now.timestamp());
    let mut commit = vec![writes::reset_password_attempts(&account.email)];
    commit.extend(writes::audit(&account.user_id, &[EventKind::Login], now.timestamp_millis(), client));
    commit.push(writes::account_unchanged(&account.user_id, account.version));
    app.repo.commit(commit).await?;
    let response = json_response(StatusCode::OK, &json!({ "requires2FA": true }));
    let cookies = std::iter::once(app.config.cookies.set(TWOFA_COOKIE, &token)).chain(clear_device);
    Ok(with_cookies(response, cookies))
}

/// A session, in one transaction with the counter reset and the events: aal 1
/// when 2FA is off; aal 2 from a remembered browser, whose item must exist
/// under the token version read with the password, checked on the profile
/// in the same transaction (a version bump meanwhile opens nothing).
async fn open_session(
    app: &App,
    req: &Request,
    account: &LoginAccount,
    device: Option<&DeviceToken>,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let issuer = app.issuer(req).await?;
    let now = app.now();
    let subject = Subject { user_id: &account.user_id, role: account.role, version: account.version };
    let sign_in = if device.is_some() { SignIn::RememberedDevice } else { SignIn::Password };
    let session = NewSession::issue(app, &issuer, subject, sign_in, (now.timestamp(), now.timestamp()), client)?;
    let mut commit: Vec<Write> = vec![session.write(), writes::reset_password_attempts(&account.email)];
    let mut events = vec![EventKind::Login];
    if let Some(device) = device {
        let (id, ip) = (device.id(), client.ip.as_deref());
        commit.push(writes::use_device(&account.user_id, &id, account.version, now.timestamp(), ip));
        events.push(EventKind::DeviceLogin);
    }
    commit.extend(writes::audit(&account.user_id, &events, now.timestamp_millis(), client));
    // An account deleted (or a version bumped) since the password was checked opens no session.
    commit.push(writes::account_unchanged(&account.user_id, account.version));
    app.repo.commit(commit).await?;

    let user = UserView::of_login(account, sign_in.aal());
    let body = json!({
        "requires2FA": false,
        "requires2FASetup": account.role == Role::Admin && !account.twofa_enabled,
        "user": user,
    });
    Ok(with_cookies(json_response(StatusCode::OK, &body), session.cookies(app)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::domain::Aal;
    use testkit::proxy::Fault;
    use testkit::{PASSWORD, Reply, TestEnv, behind_proxy, call, event, timed};

    fn login(email: &str, password: &str) -> Request {
        event("login").json(json!({ "email": email, "password": password })).request()
    }

    #[tokio::test]
    async fn password_only_login_opens_an_aal1_session() {
        let env = TestEnv::new().await;
        let id = env.register("alice@example.com").await.id;
        env.calls.reset();
        let reply = call(&env, handle, login(" ALICE@example.com", PASSWORD)).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(
            reply.json(),
            json!({
                "requires2FA": false,
                "requires2FASetup": false,
                "user": {
                    "id": id, "email": "alice@example.com", "emailVerified": false, "role": "user",
                    "twoFactorEnabled": false, "aal": 1, "passkeys": 0
                }
            })
        );
        assert!(!reply.cookie("access_token").unwrap().is_empty());
        assert!(!reply.cookie("refresh_token").unwrap().is_empty());
    }

    #[tokio::test]
    async fn unknown_email_and_wrong_password_get_the_same_401() {
        let env = TestEnv::new().await;
        env.register("bob@example.com").await;
        let wrong = call(&env, handle, login("bob@example.com", "wrong horse battery")).await;
        let unknown = call(&env, handle, login("nobody@example.com", PASSWORD)).await;
        assert_eq!((wrong.status(), unknown.status()), (401, 401));
        assert_eq!(wrong.json(), unknown.json());
        assert_eq!(wrong.error(), "invalid_credentials");
        assert!(wrong.set_cookies().is_empty() && unknown.set_cookies().is_empty());
    }

    #[tokio::test]
    async fn bad_bodies_are_refused_before_any_attempt_is_counted() {
        let env = TestEnv::new().await;
        for (req, status) in [
            (event("login").header("content-type", None).request(), 415),
            (event("login").raw_body("[]").request(), 400),
            (login("not an email", "whatever long"), 400),
        ] {
            assert_eq!(call(&env, handle, req).await.status(), status);
        }
        assert!(env.dump().await.is_empty());
    }

    #[tokio::test]
    async fn login_costs_two_calls_without_2fa() {
        let env = TestEnv::new().await;
        env.register("calls@example.com").await;
        env.keys().await;
        env.calls.reset();
        assert_eq!(call(&env, handle, login("calls@example.com", PASSWORD)).await.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems"]);
    }

    #[tokio::test]
    async fn an_unreachable_dynamodb_gives_503_with_retry_after() {
        for fault in [Fault::Refuse, Fault::Stall] {
            let (proxy, env) = behind_proxy().await;
            env.register("faulty@example.com").await;
            env.keys().await;
            proxy.set(fault);
            let reply =
                timed(&format!("login, DynamoDB {fault:?}"), call(&env, handle, login("faulty@example.com", PASSWORD)))
                    .await;
            assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()), "{fault:?}");
            assert_eq!(reply.header("retry-after"), Some("2"));
            let text = reply.json()["message"].as_str().unwrap().to_string();
            assert!(!text.contains("dispatch") && !text.contains("Dynamo"), "internal detail leaked: {text}");
        }
    }

    #[tokio::test]
    async fn an_aws_error_that_a_retry_cannot_fix_is_500_and_one_that_it_can_is_503() {
        let cases = [
            (400, "com.amazonaws.dynamodb.v20120810#ValidationException", 500),
            (400, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", 500),
            (400, "com.amazonaws.dynamodb.v20120810#AccessDeniedException", 500),
            (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", 503),
            (400, "com.amazonaws.dynamodb.v20120810#ThrottlingException", 503),
            (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", 503),
        ];
        for (status, error_type, expected) in cases {
            let (proxy, env) = behind_proxy().await;
            env.register("classified@example.com").await;
            env.keys().await;
            proxy.set(Fault::Answer { status, error_type });
            let reply = call(&env, handle, login("classified@example.com", PASSWORD)).await;
            assert_eq!(reply.status(), expected, "{error_type}");
            let (code, retry_after) =
                if expected == 503 { ("service_unavailable", Some("2")) } else { ("internal", None) };
            assert_eq!((reply.error().as_str(), reply.header("retry-after")), (code, retry_after), "{error_type}");
            assert!(!reply.json()["message"].as_str().unwrap().contains("Exception"), "internal detail leaked");
        }
    }

    #[tokio::test]
    async fn kms_refusing_to_decrypt_the_data_key_is_a_500_not_a_retry() {
        let (proxy, env) = behind_proxy().await;
        env.register("cipher@example.com").await;
        env.keys().await;
        let cold = env.cold_container();
        // The attempt counter and the keyring read pass; KMS Decrypt refuses the ciphertext.
        proxy.fail_after(2, Fault::Answer { status: 400, error_type: "InvalidCiphertextException" });
        let reply = call(&cold, handle, login("cipher@example.com", PASSWORD)).await;
        assert_eq!((reply.status(), reply.error()), (500, "internal".into()));
    }

    #[tokio::test]
    async fn the_answer_comes_before_the_invocations_deadline_even_when_aws_does_not() {
        let (proxy, env) = behind_proxy().await;
        env.register("deadline@example.com").await;
        env.keys().await;
        proxy.set(Fault::Stall);
        let time_left = std::time::Duration::from_millis(1500);
        let started = std::time::Instant::now();
        let req = event("login")
            .json(json!({ "email": "deadline@example.com", "password": PASSWORD }))
            .request_with_deadline(time_left);
        let reply = call(&env, handle, req).await;
        let took = started.elapsed();
        println!("login, DynamoDB stalled, deadline in 1.5 s: {} after {:.2} s", reply.status(), took.as_secs_f64());
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
        assert!(took < time_left, "answered after the deadline ({took:?}): the function would have been killed");
    }

    #[tokio::test]
    async fn kms_failing_on_a_cold_container_gives_503_and_the_next_request_recovers() {
        let (proxy, env) = behind_proxy().await;
        env.register("cold@example.com").await;
        env.keys().await;
        let cold = env.cold_container();
        // The attempt counter and the keyring read pass; KMS Decrypt is refused.
        proxy.fail_after(2, Fault::Refuse);
        let reply =
            timed("login, KMS refused at cold start", call(&cold, handle, login("cold@example.com", PASSWORD))).await;
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
        proxy.set(Fault::None);
        assert_eq!(call(&cold, handle, login("cold@example.com", PASSWORD)).await.status(), 200);
    }

    #[tokio::test]
    async fn the_table_holds_no_password_and_no_key_in_plaintext() {
        let env = TestEnv::new().await;
        env.register("vault@example.com").await;
        assert_eq!(call(&env, handle, login("vault@example.com", PASSWORD)).await.status(), 200);
        assert_eq!(call(&env, handle, login("vault@example.com", "a wrong password")).await.status(), 401);
        let data_key = env.data_key_plaintext().await;
        assert_eq!(data_key.len(), 32);
        assert!(!env.table_contains(&data_key).await, "the data key is stored in plaintext");
        assert!(!env.table_contains(PASSWORD.as_bytes()).await);
        assert!(!env.table_contains(b"a wrong password").await);
    }

    #[tokio::test]
    async fn with_2fa_the_password_yields_only_a_pre2fa_token_and_a_login_event_in_two_calls() {
        let env = TestEnv::new().await;
        let user = env.enroll(&env.register("second@example.com").await).await.user;
        env.clock.advance(chrono::Duration::seconds(1));
        env.keys().await;
        env.calls.reset();
        let reply = call(&env, handle, login("second@example.com", PASSWORD)).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems"]);
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events[0].kind, EventKind::Login, "a correct password leaves a trace even if no code follows");
        assert_eq!(reply.json(), json!({ "requires2FA": true }));
        let cookies: Vec<_> =
            reply.set_cookies().iter().map(|c| (c.name().to_string(), c.path().map(str::to_string))).collect();
        assert_eq!(cookies, [("twofa_token".to_string(), Some("/auth/2fa".to_string()))]);
    }

    #[tokio::test]
    async fn with_2fa_a_correct_password_after_failures_resets_the_count() {
        let env = TestEnv::new().await;
        env.enroll(&env.register("reset@example.com").await).await;
        for _ in 0..9 {
            assert_eq!(call(&env, handle, login("reset@example.com", "wrong password")).await.status(), 401);
        }
        assert_eq!(call(&env, handle, login("reset@example.com", PASSWORD)).await.status(), 200);
        for _ in 0..9 {
            assert_eq!(call(&env, handle, login("reset@example.com", "wrong password")).await.status(), 401);
        }
    }

    #[tokio::test]
    async fn the_login_event_sorts_after_what_happened_earlier_in_the_same_second() {
        let env = TestEnv::new().await;
        let user = env.register("quick@example.com").await;
        env.clock.advance(chrono::Duration::milliseconds(300));
        env.enroll(&user).await;
        env.clock.advance(chrono::Duration::milliseconds(300));
        env.app
            .repo
            .commit(shared::store::writes::audit(
                &user.id,
                &[EventKind::TwofaEnabled],
                env.app.now().timestamp_millis(),
                &Default::default(),
            ))
            .await
            .unwrap();
        env.clock.advance(chrono::Duration::milliseconds(300));
        assert_eq!(
            call(&env, handle, login("quick@example.com", PASSWORD)).await.json(),
            json!({ "requires2FA": true })
        );
        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Login, EventKind::TwofaEnabled, EventKind::Register]);
        assert_eq!(events[0].at_millis, env.app.now().timestamp_millis());
    }

    #[tokio::test]
    async fn twelve_concurrent_wrong_passwords_get_at_most_ten_checked() {
        let env = TestEnv::new().await;
        env.register("target@example.com").await;
        let guesses = (0..12).map(|i| call(&env, handle, login("target@example.com", &format!("guess number {i}"))));
        let statuses: Vec<u16> = futures::future::join_all(guesses).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    }

    #[tokio::test]
    async fn after_ten_failures_even_the_right_password_waits_for_the_window() {
        let env = TestEnv::new().await;
        let user = env.register("locked@example.com").await;
        for _ in 0..10 {
            assert_eq!(call(&env, handle, login("locked@example.com", "wrong password")).await.status(), 401);
        }
        let locked = call(&env, handle, login("locked@example.com", PASSWORD)).await;
        assert_eq!((locked.status(), locked.error()), (429, "too_many_attempts".into()));
        assert_eq!(locked.header("retry-after"), Some("900"));
        env.clock.advance(chrono::Duration::minutes(14));
        assert_eq!(call(&env, handle, login("locked@example.com", PASSWORD)).await.header("retry-after"), Some("60"));
        env.clock.advance(chrono::Duration::minutes(1));
        assert_eq!(call(&env, handle, login("locked@example.com", PASSWORD)).await.status(), 200);

        let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == EventKind::LoginFailed).count(), 10);
        assert_eq!(kinds.iter().filter(|k| **k == EventKind::Lockout).count(), 1);
        assert_eq!(kinds[0], EventKind::Login);
    }

    #[tokio::test]
    async fn an_email_without_account_locks_the_same_way() {
        let env = TestEnv::new().await;
        for _ in 0..10 {
            assert_eq!(call(&env, handle, login("nobody@example.com", "some password")).await.status(), 401);
        }
        let locked = call(&env, handle, login("nobody@example.com", "some password")).await;
        assert_eq!((locked.status(), locked.error()), (429, "too_many_attempts".into()));
        // The orphan counter is left for TTL to clean up once its window has passed.
        let ttl = env.dump().await[0]["ttl"].as_n().unwrap().parse::<i64>().unwrap();
        assert_eq!(ttl, env.app.now().timestamp() + 15 * 60);
    }

    #[tokio::test]
    async fn an_admin_without_2fa_is_told_to_set_it_up() {
        let env = TestEnv::new().await;
        env.grant_admin(&env.register("root@example.com").await).await;
        let reply = call(&env, handle, login("root@example.com", PASSWORD)).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.json()["requires2FASetup"], true);
        assert_eq!(reply.json()["user"]["role"], "admin");
        assert_eq!(reply.json()["user"]["aal"], 1);
    }

    #[tokio::test]
    async fn reaching_the_password_limit_mails_one_lockout_notice() {
        let env = TestEnv::new().await;
        let address = testkit::unique_email("notice-lock");
        env.register(&address).await;
        for i in 0..12 {
            call(&env, handle, login(&address, &format!("wrong password {i}"))).await;
        }
        let client = ClientInfo::of(&event("login").request());
        testkit::one_notice(&address, "Sign-in locked for now", env.app.now(), &client, &["wrong password 9"]).await;
    }

    async fn login_from(env: &TestEnv, email: &str, device_token: Option<&str>) -> Reply {
        let mut req = event("login").json(json!({ "email": email, "password": PASSWORD }));
        if let Some(token) = device_token {
            req = req.cookie("device_token", token);
        }
        call(env, handle, req.request()).await
    }

    #[tokio::test]
    async fn a_remembered_browser_signs_in_with_the_password_alone_in_two_calls() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register("laptop@example.com").await).await;
        let device = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
        env.keys().await;
        env.clock.advance(chrono::Duration::seconds(5));
        env.calls.reset();
        let reply = login_from(&env, "laptop@example.com", Some(&device)).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.UpdateItem", "DynamoDB.TransactWriteItems"]);
        let body = reply.json();
        assert_eq!((body["requires2FA"].clone(), body["requires2FASetup"].clone()), (json!(false), json!(false)));
        assert_eq!((body["user"]["aal"].clone(), body["user"]["twoFactorEnabled"].clone()), (json!(2), json!(true)));
        assert_eq!(reply.cookie("twofa_token"), Some(String::new()), "no pre-2FA step");
        assert_eq!(reply.cookie("device_token"), None, "the cookie stays as it is");
        let access = reply.cookie("access_token").unwrap();
        let claims = env.access_claims(&access).await;
        assert_eq!((claims.aal, claims.amr.clone()), (Aal::Two, vec!["pwd".to_string(), "device".to_string()]));
        assert!(env.accepted(&access).await);
        let events = env.app.repo.recent_events(&kit.user.id, env.app.now().timestamp(), 2).await.unwrap();
        assert_eq!([events[1].kind, events[0].kind], [EventKind::Login, EventKind::DeviceLogin]);
        let used = env.app.repo.devices(&kit.user.id).await.unwrap();
        assert_eq!(used[0].last_used_at, env.app.now().timestamp());
    }

    #[tokio::test]
    async fn a_dead_foreign_or_malformed_device_cookie_is_ignored_and_cleared() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register("phone@example.com").await).await;
        let other = env.enroll(&env.register("other@example.com").await).await;
        let foreign = env.remember_device(&other.user, "Chrome 131 on Windows").await;
        let expired = env.remember_device(&kit.user, "Safari 18 on iOS").await;
        env.clock.advance(chrono::Duration::days(31));
        let forgotten = env.remember_device(&kit.user, "Edge 131 on Windows").await;
        let id = shared::crypto::DeviceToken::parse(&forgotten).unwrap().id();
        env.app.repo.commit(vec![writes::forget_device(&kit.user.id, &id)]).await.unwrap();
        let unknown = shared::crypto::DeviceToken::generate();
        for cookie in [foreign.as_str(), &expired, &forgotten, unknown.cookie_value(), "not-a-token"] {
            let reply = login_from(&env, "phone@example.com", Some(cookie)).await;
            assert_eq!(reply.status(), 200, "{cookie:?}");
            assert_eq!(reply.json(), json!({ "requires2FA": true }), "{cookie:?}");
            assert!(!reply.cookie("twofa_token").unwrap().is_empty());
            assert_eq!(reply.cookie("device_token").as_deref(), Some(""), "cleared: {cookie:?}");
        }
    }

    #[tokio::test]
    async fn the_password_is_checked_on_a_remembered_browser_too() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register("checked@example.com").await).await;
        let device = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
        let req = event("login").cookie("device_token", &device);
        let reply = call(
            &env,
            handle,
            req.json(json!({ "email": "checked@example.com", "password": "wrong horse" })).request(),
        )
        .await;
        assert_eq!((reply.status(), reply.error().as_str()), (401, "invalid_credentials"));
        assert!(reply.set_cookies().is_empty());
    }

    /// Logins from a remembered browser while the user signs out everywhere:
    /// whatever the interleaving, no session opened from the device works
    /// after the bump, and the next login asks for the second factor.
    #[tokio::test]
    async fn device_logins_raced_against_logout_all_open_nothing_after_the_bump() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register("race@example.com").await).await;
        for round in 0..4 {
            let user = env.user(&kit.user.id).await;
            let device = env.remember_device(&user, "Firefox 140 on Linux").await;
            let logins = (0..5).map(|_| login_from(&env, "race@example.com", Some(&device)));
            let bump = async { env.app.repo.commit(writes::bump_version(&user).into()).await.unwrap() };
            let (replies, ()) = tokio::join!(futures::future::join_all(logins), bump);
            for reply in replies.iter().filter(|reply| reply.json()["requires2FA"] == json!(false)) {
                let access = reply.cookie("access_token").unwrap();
                assert!(!env.accepted(&access).await, "round {round}: a device session outlived the bump");
            }
            let after = login_from(&env, "race@example.com", Some(&device)).await;
            assert_eq!(after.json(), json!({ "requires2FA": true }), "round {round}: the device was not forgotten");
        }
    }

    #[tokio::test]
    async fn a_session_keeps_where_it_signed_in_described_not_copied() {
        let env = TestEnv::new().await;
        let user = env.register("where@example.com").await;
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
        let req = event("login").source("203.0.113.50", firefox);
        let reply =
            call(&env, handle, req.json(json!({ "email": "where@example.com", "password": PASSWORD })).request()).await;
        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        let session = env.app.repo.session(&user.id, &claims.sid).await.unwrap().unwrap();
        assert_eq!((session.device.as_str(), session.ip.as_deref()), ("Firefox 140 on Linux", Some("203.0.113.50")));
    }

    #[tokio::test]
    async fn a_sign_in_raced_against_the_deletion_of_its_account_opens_nothing_and_leaves_nothing() {
        let env = TestEnv::new().await;
        for with_2fa in [false, true] {
            let address = testkit::unique_email("racing");
            let mut user = env.register(&address).await;
            if with_2fa {
                user = env.enroll(&user).await.user;
            }
            let (proxy, paused) = env.paused_container().await;
            // The attempt is counted and the password checked; the sign-in's
            // transaction is held while the account is deleted.
            proxy.fail_after(1, Fault::Stall);
            let (reply, ()) = futures::join!(call(&paused, handle, login(&address, PASSWORD)), async {
                proxy.wait_for_calls(2).await;
                shared::flows::accounts::delete(&env.fixtures, &env.user(&user.id).await).await.unwrap();
                proxy.set(Fault::None);
            });
            assert_eq!(reply.status(), 401, "2FA {with_2fa}: {:?}", reply.json());
            assert!(reply.set_cookies().is_empty(), "2FA {with_2fa}: a token for a deleted account");
            let left: Vec<String> = env
                .dump()
                .await
                .iter()
                .map(|item| format!("{} {}", item["pk"].as_s().unwrap(), item["sk"].as_s().unwrap()))
                .filter(|key| {
                    key.starts_with(&format!("USER#{} ", user.id)) || key.starts_with(&format!("EMAIL#{address} "))
                })
                .collect();
            assert_eq!(left, Vec::<String>::new(), "2FA {with_2fa}: items of the deleted account");
            let after = call(&env, handle, login(&address, PASSWORD)).await;
            assert_eq!((after.status(), after.error()), (401, "invalid_credentials".into()));
        }
    }
}
