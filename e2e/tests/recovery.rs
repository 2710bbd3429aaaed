//! Over HTTP: the verification mail at sign-up, a password reset that keeps
//! the second factor, and answers that do not tell whether an account exists.

use std::time::Duration;

use e2e::{Browser, unique_email, verified_and_signed_in};
use serde_json::json;
use shared::factors::totp::{TotpSecret, code_at};
use testkit::mail_to;

const PASSWORD: &str = "correct horse battery staple";
const NEW: &str = "a brand new passphrase";

fn now_code(secret: &TotpSecret) -> String {
    code_at(secret, std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
}

async fn signed_up(browser: &mut Browser, email: &str) {
    let created = browser.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
}

#[tokio::test]
async fn the_sign_up_mail_verifies_the_address() {
    let email = unique_email("verify");
    let mut browser = Browser::new();
    signed_up(&mut browser, &email).await;
    let mails = mail_to(&email).await;
    assert_eq!(mails.len(), 1, "one verification mail");
    let link = mails[0].link().unwrap();
    assert!(link.contains("/verify-email#token="), "{link}");
    let login = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(login.body["user"]["emailVerified"], false, "login does not need a verified address");
    let verified = browser.post("/auth/email/verify", Some(json!({ "token": mails[0].token().unwrap() }))).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(browser.get("/auth/me").await.body["emailVerified"], true);
}

#[tokio::test]
async fn a_reset_with_2fa_on_needs_a_code_and_then_the_new_password_signs_in() {
    let email = unique_email("reset");
    let mut browser = Browser::new();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let setup = browser.post("/auth/2fa/setup", None).await;
    let secret = TotpSecret::from_base32(setup.body["secret"].as_str().unwrap()).unwrap();
    let left_in_step = 30 - std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() % 30;
    if left_in_step < 5 {
        tokio::time::sleep(Duration::from_secs(left_in_step + 1)).await;
    }
    let enabled = browser.post("/auth/2fa/enable", Some(json!({ "code": now_code(&secret) }))).await;
    assert_eq!(enabled.status, 200, "{:?}", enabled.body);
    let backup = enabled.body["backupCodes"][0].as_str().unwrap().to_string();

    let mut stranger = Browser::new();
    let asked = stranger.post("/auth/password/forgot", Some(json!({ "email": email }))).await;
    assert_eq!(asked.status, 202);
    let reset_mail = mail_to(&email).await.into_iter().find(|m| m.subject.ends_with("Reset your password")).unwrap();
    let token = reset_mail.token().unwrap();
    let without = stranger.post("/auth/password/reset", Some(json!({ "token": token, "password": NEW }))).await;
    assert_eq!((without.status.as_u16(), without.error()), (400, "second_factor_required"));
    let reset = stranger
        .post("/auth/password/reset", Some(json!({ "token": token, "password": NEW, "backupCode": backup })))
        .await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    assert!(reset.set_cookies().is_empty(), "a reset opens no session");

    assert_eq!(browser.get("/auth/me").await.status, 401, "the old session ended");
    let old = Browser::new().post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(old.status, 401);
    let mut again = Browser::new();
    let login = again.post("/auth/login", Some(json!({ "email": email, "password": NEW }))).await;
    assert_eq!((login.status.as_u16(), login.body["requires2FA"].clone()), (200, json!(true)), "2FA is still on");
}
