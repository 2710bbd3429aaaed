//! Over HTTP: admin-enforced 2FA, the operator's commands through `make`,
//! secrets kept out of the logs, and malformed input that changes nothing.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use e2e::{Browser, Page, unique_email, verified_and_signed_in};
use reqwest::Method;
use serde_json::{Value, json};
use shared::domain::{ACCESS_TTL_SECS, Aal, CLOCK_SKEW_SECS, PRE2FA_TTL_SECS, Role, TokenKind};
use shared::factors::totp::{TotpSecret, code_at};
use shared::tokens::{self, AccessClaims, Pre2faClaims, Registered};

const PASSWORD: &str = "correct horse battery staple";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn code(secret: &TotpSecret, offset: i64) -> String {
    code_at(secret, (unix_now() as i64 + offset) as u64)
}

/// Runs an operator target of the Makefile against the table `make test`
/// serves; whether it succeeded.
fn try_make(target: &str, email: &str) -> bool {
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME of the local stack");
    let status = Command::new("make")
        .args(["-s", "-C", concat!(env!("CARGO_MANIFEST_DIR"), "/.."), target])
        .arg(format!("EMAIL={email}"))
        .arg(format!("TABLE={table}"))
        .status()
        .expect("run make");
    status.success()
}

fn make(target: &str, email: &str) {
    assert!(try_make(target, email), "make {target} failed");
}

/// Registered and signed in, the address left unverified (enough where no
/// 2FA is turned on; [`verified_and_signed_in`] where it is).
async fn register_and_login(browser: &mut Browser, email: &str) -> Page {
    browser.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await
}

async fn enable_2fa(browser: &mut Browser) -> (TotpSecret, Vec<String>) {
    let setup = browser.post("/auth/2fa/setup", None).await;
    let secret = TotpSecret::from_base32(setup.body["secret"].as_str().unwrap()).unwrap();
    let left = 30 - unix_now() % 30;
    if left < 5 {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
    let enabled = browser.post("/auth/2fa/enable", Some(json!({ "code": code(&secret, 0) }))).await;
    assert_eq!(enabled.status, 200, "{:?}", enabled.body);
    let backup = enabled.body["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    (secret, backup)
}

#[tokio::test]
async fn an_admin_must_turn_2fa_on_and_cannot_turn_it_off() {
    let email = unique_email("admin");
    let mut browser = Browser::new();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    make("grant-admin", &email);
    assert_eq!(browser.get("/auth/me").await.status, 401, "granting ended the session");

    let login = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(login.body["requires2FASetup"], true);
    assert_eq!(login.body["user"]["role"], "admin");
    for (method, path) in [(Method::GET, "/auth/me"), (Method::GET, "/auth/2fa/status"), (Method::GET, "/auth/audit")] {
        assert_eq!(browser.send(method, path, None, &[]).await.status, 200, "{path} stays open");
    }
    for (path, body) in
        [("/auth/2fa/backup-codes", json!({ "code": "123456" })), ("/auth/2fa/disable", json!({ "code": "1" }))]
    {
        let refused = browser.post(path, Some(body)).await;
        assert_eq!((refused.status.as_u16(), refused.error()), (403, "mfa_required"), "{path}");
    }
    // Admin enforcement answers before the body is read.
    assert_eq!(browser.send(Method::POST, "/auth/2fa/disable", None, &[]).await.status, 403);

    let (secret, _) = enable_2fa(&mut browser).await;
    let regenerated = browser.post("/auth/2fa/backup-codes", Some(json!({ "code": code(&secret, 30) }))).await;
    assert_eq!(regenerated.status, 200, "with 2FA on, an admin has full access");
    let disable = browser.post("/auth/2fa/disable", Some(json!({ "code": code(&secret, 30) }))).await;
    assert_eq!((disable.status.as_u16(), disable.error()), (403, "mfa_required"), "an admin cannot turn 2FA off");

    make("revoke-admin", &email);
    assert_eq!(browser.get("/auth/me").await.status, 401, "revoking ended the session too");
}

#[tokio::test]
async fn the_admin_role_is_granted_only_to_a_verified_address() {
    let email = unique_email("admin-unverified");
    let mut browser = Browser::new();
    register_and_login(&mut browser, &email).await;
    assert!(!try_make("grant-admin", &email), "v3: grant-admin refuses an unverified address");
    let me = browser.get("/auth/me").await;
    assert_eq!((me.status.as_u16(), &me.body["role"]), (200, &json!("user")), "nothing changed, the session lives on");
}

#[tokio::test]
async fn reset_2fa_lets_a_locked_out_user_in_with_the_password_alone() {
    let email = unique_email("lost-phone");
    let mut browser = Browser::new();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let (secret, _) = enable_2fa(&mut browser).await;

    // The phone and every backup code are gone: five wrong guesses lock the codes out.
    let mut user = Browser::new();
    user.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    for _ in 0..5 {
        user.post("/auth/2fa/verify-login", Some(json!({ "backupCode": "aaaaa-aaaaa" }))).await;
    }
    let locked = user.post("/auth/2fa/verify-login", Some(json!({ "code": code(&secret, 30) }))).await;
    assert_eq!(locked.status, 429);

    make("reset-2fa", &email);
    assert_eq!(browser.get("/auth/me").await.status, 401, "every session ended");
    let login = user.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!((login.status.as_u16(), login.body["requires2FA"].clone()), (200, json!(false)));
    let events = user.get("/auth/audit").await.body["events"].clone();
    let kinds: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..2], ["login", "twofa_reset"]);
    let reset = &events[1];
    assert_eq!((reset["ip"].clone(), reset["userAgent"].clone()), (Value::Null, Value::Null));
}

#[tokio::test]
async fn no_password_secret_code_or_token_reaches_the_logs() {
    let email = unique_email("quiet");
    let mut browser = Browser::new();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let (secret, backup) = enable_2fa(&mut browser).await;
    let mut tokens = vec![browser.cookie("access_token").unwrap(), browser.cookie("refresh_token").unwrap()];
    browser.post("/auth/logout", None).await;
    browser.post("/auth/login", Some(json!({ "email": email, "password": "a wrong password!" }))).await;
    browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    tokens.push(browser.cookie("twofa_token").unwrap());
    let next = code(&secret, 30);
    let wrong = format!("{:06}", (next.parse::<u32>().unwrap() + 1) % 1_000_000);
    browser.post("/auth/2fa/verify-login", Some(json!({ "code": wrong }))).await;
    assert_eq!(browser.post("/auth/2fa/verify-login", Some(json!({ "code": next }))).await.status, 200);
    tokens.push(browser.cookie("access_token").unwrap());
    browser.post("/auth/refresh", None).await;
    tokens.push(browser.cookie("refresh_token").unwrap());
    assert_eq!(browser.post("/auth/2fa/disable", Some(json!({ "backupCode": backup[0] }))).await.status, 200);

    let path = std::env::var("E2E_LOG_FILE").expect("E2E_LOG_FILE: the functions' log, set by `make test`");
    // The last requests' lines may still be on their way to the file: read
    // until it has stopped growing.
    let mut log = std::fs::read_to_string(&path).unwrap();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let again = std::fs::read_to_string(&path).unwrap();
        if again.len() == log.len() {
            break;
        }
        log = again;
    }
    let json_lines = log.lines().filter(|l| l.starts_with('{')).count();
    assert!(json_lines > 0, "the functions log structured JSON");
    assert!(log.contains("requestId"), "log lines carry the request id");
    let mut secrets = vec![PASSWORD.to_string(), "a wrong password!".into(), secret.to_base32(), next, wrong];
    // The sign-up mail's token, used to verify the address.
    secrets.extend(testkit::mail_to(&email).await.iter().filter_map(testkit::SentMail::token));
    secrets.extend(backup.iter().flat_map(|c| [c.clone(), c.replace('-', "")]));
    for token in tokens {
        // Any one part of a JWT is enough to spot it.
        secrets.extend(token.split('.').map(str::to_string));
    }
    for secret in secrets {
        assert!(!log.contains(&secret), "a secret reached the log: {}…", &secret[..secret.len().min(6)]);
    }
}

/// The local stack's own keys, to make tokens as the functions would sign
/// them, but with chosen lifetimes.
async fn local_keys() -> (&'static shared::crypto::KeySet, std::sync::Arc<shared::crypto::SigningKeys>) {
    let app: &'static shared::App =
        Box::leak(Box::new(shared::App::from_env().await.expect("the local stack's config")));
    let keys = app.keyring.keys().await.expect("the local stack's keys");
    (keys, app.keyring.signing_keys_to_sign().await.expect("the local stack's signing keys"))
}

fn access_claims(user_id: &str, issuer_url: &str, iat: i64, version: i64) -> AccessClaims {
    AccessClaims {
        reg: Registered {
            iss: issuer_url.into(),
            aud: "twofa".into(),
            sub: user_id.into(),
            iat,
            nbf: iat,
            exp: iat + ACCESS_TTL_SECS,
        },
        sid: "forged".into(),
        role: Role::User,
        aal: Aal::Two,
        amr: vec!["pwd".into(), "otp".into()],
        auth_time: iat,
        ver: version,
        jti: "forged".into(),
        scope: AccessClaims::scope_of(Aal::Two),
    }
}

fn rewrite_header(token: &str, header: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[0] = URL_SAFE_NO_PAD.encode(header);
    parts.join(".")
}

#[tokio::test]
async fn malformed_requests_get_the_contract_error_and_change_nothing() {
    let email = unique_email("fuzz");
    let mut browser = Browser::new();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let (secret, _) = enable_2fa(&mut browser).await;
    let access = browser.cookie("access_token").unwrap();
    let refresh = browser.cookie("refresh_token").unwrap();
    let mut pre = Browser::new();
    pre.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    let pre2fa = pre.cookie("twofa_token").unwrap();

    let (keys, signing) = local_keys().await;
    let issuer = std::env::var("ISSUER").unwrap();
    let issuer_url = std::env::var("ISSUER_URL").unwrap();
    let me = browser.get("/auth/me").await.body;
    let (user_id, now) = (me["id"].as_str().unwrap().to_string(), unix_now() as i64);
    let version = tokens::verify_access(&signing, &access, &issuer_url, "twofa", now).unwrap().ver;
    let sign = |claims: AccessClaims| tokens::sign_access(keys, &signing, &claims, now).unwrap();
    let expired = sign(access_claims(&user_id, &issuer_url, now - ACCESS_TTL_SECS - 1, version));
    let not_yet = sign(access_claims(&user_id, &issuer_url, now + CLOCK_SKEW_SECS + 5, version));
    let other_issuer = sign(access_claims(&user_id, "https://someone-else.example", now, version));
    let alg_none = format!(
        "{}.",
        rewrite_header(&access, r#"{"alg":"none","kid":"s1","typ":"at+jwt"}"#).rsplit_once('.').unwrap().0
    );
    let wrong_kid = rewrite_header(&access, r#"{"alg":"RS256","kid":"s999","typ":"at+jwt"}"#);
    let expired_pre2fa = tokens::sign(
        keys,
        &Pre2faClaims {
            reg: Registered::new(TokenKind::Pre2fa, &issuer, &user_id, now - PRE2FA_TTL_SECS - 1, PRE2FA_TTL_SECS),
            jti: "forged-nonce".into(),
            ver: version,
        },
    );
    let huge = json!({ "code": "1".repeat(20_000) });
    let code_now = code(&secret, 0);

    // (method, path, cookie, bearer, content type, body, status, error)
    type Case<'a> =
        (Method, &'a str, Option<(&'a str, &'a str)>, Option<String>, Option<&'a str>, Option<String>, u16, &'a str);
    let json_ct = Some("application/json");
    let body = |v: Value| Some(v.to_string());
    let auth = Some(("access_token", access.as_str()));
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/auth/register",
            None,
            None,
            None,
            body(json!({"email": email, "password": PASSWORD})),
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/auth/register",
            None,
            None,
            Some("text/plain"),
            body(json!({})),
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/auth/register",
            None,
            None,
            json_ct,
            body(json!({"email": email, "password": "x".repeat(20_000)})),
            413,
            "payload_too_large",
        ),
        (
            Method::POST,
            "/auth/register",
            None,
            None,
            json_ct,
            body(json!({"email": 1, "password": PASSWORD})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/auth/register",
            None,
            None,
            json_ct,
            Some(r#"{"email":"\ud800@x.io","password":"12345678"}"#.into()),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/auth/login",
            None,
            None,
            json_ct,
            body(json!({"email": email, "password": PASSWORD, "remember": true})),
            400,
            "invalid_request",
        ),
        (Method::POST, "/auth/login", None, None, json_ct, Some("{\"email\":".into()), 400, "invalid_request"),
        (Method::GET, "/auth/me", None, None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", "%%%not-base64%%%")), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", &expired)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", &not_yet)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", &other_issuer)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", &alg_none)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", &wrong_kid)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/me", Some(("access_token", &refresh)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/2fa/status", Some(("access_token", &pre2fa)), None, None, None, 401, "unauthorized"),
        (Method::GET, "/auth/audit", None, Some(format!("Bearer {refresh}")), None, None, 401, "unauthorized"),
        (Method::GET, "/auth/audit", None, Some("Basic YTpi".into()), None, None, 401, "unauthorized"),
        (Method::POST, "/auth/refresh", Some(("refresh_token", &access)), None, None, None, 401, "unauthorized"),
        (Method::POST, "/auth/refresh", Some(("refresh_token", "e30.e30.e30")), None, None, None, 401, "unauthorized"),
        (Method::POST, "/auth/logout-all", Some(("access_token", &expired)), None, None, None, 401, "unauthorized"),
        (Method::POST, "/auth/2fa/setup", Some(("access_token", &wrong_kid)), None, None, None, 401, "unauthorized"),
        // v3: with 2FA on, setup prepares a further app; a blank name is refused first.
        (Method::POST, "/auth/2fa/setup", auth, None, json_ct, body(json!({"name": "   "})), 400, "invalid_request"),
        (
            Method::POST,
            "/auth/2fa/enable",
            auth,
            None,
            None,
            body(json!({"code": code_now})),
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/auth/2fa/enable",
            auth,
            None,
            json_ct,
            body(json!({"code": code_now, "token": code_now})),
            400,
            "invalid_request",
        ),
        (Method::POST, "/auth/2fa/enable", auth, None, json_ct, body(json!({"code": 123456})), 400, "invalid_request"),
        (Method::POST, "/auth/2fa/enable", auth, None, json_ct, body(huge.clone()), 413, "payload_too_large"),
        (
            Method::POST,
            "/auth/2fa/disable",
            auth,
            None,
            json_ct,
            body(json!({"code": code_now, "backupCode": "abcde-fghij"})),
            400,
            "invalid_request",
        ),
        (Method::POST, "/auth/2fa/disable", auth, None, json_ct, body(json!([])), 400, "invalid_request"),
        (
            Method::POST,
            "/auth/2fa/backup-codes",
            auth,
            None,
            json_ct,
            body(json!({"code": null})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/auth/2fa/backup-codes",
            auth,
            None,
            Some("application/xml"),
            Some("<code/>".into()),
            415,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            None,
            None,
            json_ct,
            body(json!({"code": code_now})),
            401,
            "session_expired",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            Some(("twofa_token", &access)),
            None,
            json_ct,
            body(json!({"code": code_now})),
            401,
            "session_expired",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            Some(("twofa_token", &expired_pre2fa)),
            None,
            json_ct,
            body(json!({"code": code_now})),
            401,
            "session_expired",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            Some(("twofa_token", "a.b.c")),
            None,
            json_ct,
            body(json!({"code": code_now})),
            401,
            "session_expired",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            Some(("twofa_token", &pre2fa)),
            None,
            json_ct,
            body(json!({})),
            400,
            "invalid_request",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            Some(("twofa_token", &pre2fa)),
            None,
            json_ct,
            body(huge.clone()),
            413,
            "payload_too_large",
        ),
        (
            Method::POST,
            "/auth/2fa/verify-login",
            Some(("twofa_token", &pre2fa)),
            None,
            None,
            body(json!({"code": code_now})),
            415,
            "unsupported_media_type",
        ),
    ];

    let before = e2e::stored_state(&user_id, &email).await;
    for (method, path, cookie, bearer, content_type, body, status, error) in cases {
        let mut request = reqwest::Client::new().request(method.clone(), format!("{}{path}", e2e::base_url()));
        if let Some((name, value)) = cookie {
            request = request.header("cookie", format!("{name}={value}"));
        }
        if let Some(bearer) = &bearer {
            request = request.header("authorization", bearer);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!((got, answer["error"].as_str().unwrap_or_default()), (status, error), "{method} {path} {cookie:?}");
    }
    assert_eq!(e2e::stored_state(&user_id, &email).await, before, "a malformed request changed stored state");
}

#[tokio::test]
async fn a_post_from_another_site_is_refused_first_and_requests_without_origin_pass() {
    let email = unique_email("origin");
    let mut browser = Browser::new();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    for path in ["/auth/2fa/setup", "/auth/logout-all", "/auth/logout", "/auth/refresh"] {
        let forged = browser.send(Method::POST, path, None, &[("origin", "https://evil.example")]).await;
        assert_eq!((forged.status.as_u16(), forged.error()), (403, "forbidden_origin"), "{path}");
        assert!(forged.set_cookies().is_empty(), "{path}");
    }
    let still = browser.get("/auth/me").await;
    assert_eq!(still.status, 200, "the cross-site posts ended nothing");
    let events = browser.get("/auth/audit").await.body["events"].clone();
    assert!(!events.as_array().unwrap().iter().any(|e| e["type"] == "twofa_setup"), "no pending secret was set");

    // The API's own origin passes, and so does a request without Origin (curl, apps).
    let own = e2e::base_url();
    let setup = browser.send(Method::POST, "/auth/2fa/setup", None, &[("origin", own.as_str())]).await;
    assert_eq!(setup.status, 200, "{:?}", setup.body);
    assert_eq!(browser.post("/auth/logout-all", None).await.status, 204);
}

/// What a browser checks before and after a credentialed cross-origin
/// request: the preflight's answer, and the actual answer's CORS headers.
async fn cross_origin(origin: &str, email: &str) -> (reqwest::Response, reqwest::Response) {
    let http = reqwest::Client::new();
    let url = format!("{}/auth/login", e2e::base_url());
    let preflight = http
        .request(Method::OPTIONS, &url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    let actual = http
        .post(&url)
        .header("origin", origin)
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    (preflight, actual)
}

#[tokio::test]
async fn the_configured_front_ends_may_call_across_origins_with_credentials_and_no_other_site_may() {
    let allowed = std::env::var("E2E_ALLOWED_ORIGINS").expect("E2E_ALLOWED_ORIGINS: the stack's ALLOWED_ORIGINS");
    let email = unique_email("cors");
    register_and_login(&mut Browser::new(), &email).await;
    for origin in allowed.split(',') {
        let (preflight, actual) = cross_origin(origin, &email).await;
        assert_eq!(preflight.status(), 204, "{origin}");
        let header = |response: &reqwest::Response, name: &str| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        assert_eq!(header(&preflight, "access-control-allow-origin").as_deref(), Some(origin));
        assert_eq!(header(&preflight, "access-control-allow-credentials").as_deref(), Some("true"));
        assert!(header(&preflight, "access-control-allow-methods").unwrap().contains("POST"));
        assert!(header(&preflight, "access-control-allow-headers").unwrap().contains("content-type"));
        assert_eq!(actual.status(), 200, "{origin}: the functions refused a configured front end");
        assert_eq!(header(&actual, "access-control-allow-origin").as_deref(), Some(origin));
        assert_eq!(header(&actual, "access-control-allow-credentials").as_deref(), Some("true"));
        assert!(header(&actual, "access-control-expose-headers").unwrap().contains("retry-after"));
        assert!(actual.headers().get_all("set-cookie").iter().count() >= 2, "the session's cookies");
    }
    for origin in ["https://evil.example", "http://localhost:9999", "null"] {
        let (preflight, actual) = cross_origin(origin, &email).await;
        assert!(preflight.headers().get("access-control-allow-origin").is_none(), "{origin}: preflight allowed");
        assert!(actual.headers().get("access-control-allow-origin").is_none(), "{origin}: answer readable");
        assert_eq!(actual.status(), 403, "{origin}: the functions' own Origin rule");
        assert!(actual.headers().get("set-cookie").is_none(), "{origin}: a session for another site");
    }
}

#[tokio::test]
async fn the_security_log_shows_the_browser_that_sent_the_request() {
    let email = unique_email("agent");
    let mut browser = Browser::new();
    let agent = [("user-agent", "Mozilla/5.0 (e2e) Firefox/140.0")];
    let body = json!({ "email": email, "password": PASSWORD });
    assert_eq!(browser.send(Method::POST, "/auth/register", Some(body.clone()), &agent).await.status, 201);
    assert_eq!(browser.send(Method::POST, "/auth/login", Some(body), &agent).await.status, 200);
    let events = browser.get("/auth/audit").await.body["events"].clone();
    let agents: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["userAgent"].as_str().unwrap_or("")).collect();
    assert_eq!(agents, ["Mozilla/5.0 (e2e) Firefox/140.0"; 2], "not the emulator's name: {events}");
    assert_eq!(events[0]["ip"], "127.0.0.1");
}
