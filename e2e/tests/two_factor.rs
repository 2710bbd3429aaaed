//! The 2FA flows over HTTP, computing codes from the returned secret the way an
//! authenticator app does (with the project's TOTP, checked against RFC 6238).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use e2e::{Browser, unique_email, verified_and_signed_in};
use serde_json::{Value, json};
use shared::factors::totp::{TotpSecret, code_at};

const PASSWORD: &str = "correct horse battery staple";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Waits, if needed, until at least `need` seconds of the current 30-second
/// step are left, so a code computed now is still of this step at the server.
async fn room_in_step(need: u64) {
    let left = 30 - unix_now() % 30;
    if left < need {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// The code an authenticator shows `offset` seconds from now.
fn code(secret: &TotpSecret, offset: i64) -> String {
    code_at(secret, (unix_now() as i64 + offset) as u64)
}

/// A code that is no code of the steps around now (two either side), so no
/// clock drift can make it right.
fn wrong_code(secret: &TotpSecret) -> String {
    let now = unix_now() as i64;
    let near: Vec<String> = (-2..=2).map(|step| code_at(secret, (now + step * 30) as u64)).collect();
    (0..)
        .map(|i| format!("{:06}", (near[2].parse::<u32>().unwrap() + 500_000 + i) % 1_000_000))
        .find(|candidate| !near.contains(candidate))
        .unwrap()
}

/// A new user, address verified and signed in (v3: turning 2FA on needs both).
async fn signed_up(browser: &mut Browser) -> String {
    let email = unique_email("tfa");
    verified_and_signed_in(browser, &email, PASSWORD).await;
    email
}

/// Setup, scan the QR code as a phone would, and return the secret it holds.
async fn scan_setup(browser: &mut Browser) -> TotpSecret {
    let setup = browser.post("/auth/2fa/setup", None).await;
    assert_eq!(setup.status, 200);
    let url = setup.body["otpauthUrl"].as_str().unwrap();
    let payload = setup.body["qrCode"].as_str().unwrap().strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD.decode(payload).unwrap();
    let mut image = rqrr::PreparedImage::prepare(image::load_from_memory(&png).unwrap().to_luma8());
    let scanned = image.detect_grids()[0].decode().unwrap().1;
    assert_eq!(scanned, url, "the QR code holds the otpauth URL");
    let secret = url.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    assert_eq!(secret, setup.body["secret"].as_str().unwrap());
    TotpSecret::from_base32(secret).unwrap()
}

async fn login(browser: &mut Browser, email: &str) -> Value {
    let page = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(page.status, 200);
    page.body
}

#[tokio::test]
async fn enable_login_verify_and_disable_like_a_user_would() {
    let mut browser = Browser::new();
    let email = signed_up(&mut browser).await;
    let secret = scan_setup(&mut browser).await;
    let refresh_before_enable = browser.cookie("refresh_token").unwrap();

    room_in_step(5).await;
    let enabled = browser.post("/auth/2fa/enable", Some(json!({ "code": code(&secret, 0) }))).await;
    assert_eq!(enabled.status, 200);
    let backup: Vec<String> =
        enabled.body["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(backup.len(), 10);
    let factor = &enabled.body["factor"];
    assert_eq!((&factor["type"], &factor["name"]), (&json!("totp"), &json!("Authenticator app")), "v3: the new factor");
    let status = browser.get("/auth/2fa/status").await;
    assert_eq!((status.body["enabled"].clone(), status.body["backupCodesRemaining"].clone()), (json!(true), json!(10)));
    assert_eq!(status.body["factors"], 1);

    // The session from before enabling is over: its refresh token no longer works.
    let mut old_tab = Browser::new();
    old_tab.set_cookie("refresh_token", "/auth", &refresh_before_enable);
    assert_eq!(old_tab.post("/auth/refresh", None).await.status, 401);

    // Log in again: the password alone now yields only a pre-2FA token.
    assert_eq!(browser.post("/auth/logout", None).await.status, 204);
    let first_step = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(first_step.body, json!({ "requires2FA": true }));
    assert!(browser.cookie("access_token").is_none() && browser.cookie("refresh_token").is_none());
    let pre2fa = browser.cookie("twofa_token").expect("a pre-2FA cookie");
    let mut misuse = Browser::new();
    misuse.set_cookie("access_token", "/", &pre2fa);
    assert_eq!(misuse.get("/auth/me").await.status, 401, "a pre-2FA token is not an access token");

    let wrong = browser.post("/auth/2fa/verify-login", Some(json!({ "code": wrong_code(&secret) }))).await;
    assert_eq!((wrong.status.as_u16(), wrong.error()), (400, "invalid_code"));
    // The next step's code: the enable already used this one. Computed once,
    // so the replays below present the very code accepted here, whatever the
    // clock does meanwhile.
    let next = code(&secret, 30);
    let verified = browser.post("/auth/2fa/verify-login", Some(json!({ "code": next }))).await;
    assert_eq!(verified.status, 200);
    assert_eq!(verified.body["user"]["aal"], 2);
    assert!(browser.cookie("twofa_token").is_none(), "the pre-2FA cookie is cleared");
    assert_eq!(browser.get("/auth/me").await.body["twoFactorEnabled"], true);

    // The pre-2FA token is spent, and the same code is refused at another login.
    let mut replay = Browser::new();
    replay.set_cookie("twofa_token", "/auth/2fa", &pre2fa);
    let spent = replay.post("/auth/2fa/verify-login", Some(json!({ "code": next }))).await;
    assert_eq!((spent.status.as_u16(), spent.error()), (401, "session_expired"));
    let mut other = Browser::new();
    assert_eq!(login(&mut other, &email).await, json!({ "requires2FA": true }));
    let reused = other.post("/auth/2fa/verify-login", Some(json!({ "code": next }))).await;
    assert_eq!((reused.status.as_u16(), reused.error()), (400, "invalid_code"));

    // A backup code signs in once.
    let by_backup = other.post("/auth/2fa/verify-login", Some(json!({ "backupCode": backup[0] }))).await;
    assert_eq!(by_backup.status, 200);
    let mut third = Browser::new();
    login(&mut third, &email).await;
    let again = third.post("/auth/2fa/verify-login", Some(json!({ "backupCode": backup[0] }))).await;
    assert_eq!((again.status.as_u16(), again.error()), (400, "invalid_code"));

    // Disabling needs proof; afterwards the password alone signs in, and the
    // other sessions are over.
    assert_eq!(browser.post("/auth/2fa/disable", None).await.status, 415);
    let disabled = browser.post("/auth/2fa/disable", Some(json!({ "backupCode": backup[1] }))).await;
    assert_eq!(disabled.status, 200);
    assert_eq!(other.get("/auth/me").await.status, 401);
    assert_eq!(
        browser.get("/auth/2fa/status").await.body,
        json!({ "enabled": false, "enabledAt": null, "backupCodesRemaining": null, "factors": 0 })
    );
    assert_eq!(login(&mut Browser::new(), &email).await["requires2FA"], false);
}

#[tokio::test]
async fn one_step_of_clock_drift_is_accepted_two_are_not() {
    let mut browser = Browser::new();
    let email = signed_up(&mut browser).await;
    let secret = scan_setup(&mut browser).await;
    // All three codes from one instant with 15 s of the step left: the
    // server's step stays the one they are measured from.
    room_in_step(15).await;
    let [two_behind, two_ahead, one_behind] = [-60, 60, -30].map(|offset| code(&secret, offset));
    for (what, code) in [("two steps behind", two_behind), ("two steps ahead", two_ahead)] {
        let refused = browser.post("/auth/2fa/enable", Some(json!({ "code": code }))).await;
        assert_eq!((refused.status.as_u16(), refused.error()), (400, "invalid_code"), "{what}");
    }
    let previous = browser.post("/auth/2fa/enable", Some(json!({ "code": one_behind }))).await;
    assert_eq!(previous.status, 200, "a phone 30 s behind");

    let mut phone_ahead = Browser::new();
    login(&mut phone_ahead, &email).await;
    let ahead = phone_ahead.post("/auth/2fa/verify-login", Some(json!({ "code": code(&secret, 30) }))).await;
    assert_eq!(ahead.status, 200, "a phone 30 s ahead");
}

#[tokio::test]
async fn five_wrong_codes_then_even_the_right_one_waits() {
    let mut browser = Browser::new();
    let email = signed_up(&mut browser).await;
    let secret = scan_setup(&mut browser).await;
    room_in_step(10).await;
    assert_eq!(browser.post("/auth/2fa/enable", Some(json!({ "code": code(&secret, 0) }))).await.status, 200);

    let mut attacker = Browser::new();
    login(&mut attacker, &email).await;
    for _ in 0..5 {
        let page = attacker.post("/auth/2fa/verify-login", Some(json!({ "code": wrong_code(&secret) }))).await;
        assert_eq!(page.status, 400);
    }
    let locked = attacker.post("/auth/2fa/verify-login", Some(json!({ "code": code(&secret, 30) }))).await;
    assert_eq!((locked.status.as_u16(), locked.error()), (429, "too_many_attempts"));
    let wait: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait));
    // The limit is the user's, not the token's: a fresh login is locked out too.
    let mut owner = Browser::new();
    login(&mut owner, &email).await;
    assert_eq!(owner.post("/auth/2fa/verify-login", Some(json!({ "code": code(&secret, 30) }))).await.status, 429);
}
