//! Sessions and remembered browsers over HTTP, as two browsers of one user
//! would use them: a sign-in that remembers the browser, the password alone
//! on it afterwards, the lists, ending another session, forgetting devices,
//! and logout-all making a remembered browser ask for the code again.

use std::time::{SystemTime, UNIX_EPOCH};

use e2e::{Browser, unique_email, verified_and_signed_in};
use serde_json::{Value, json};
use shared::factors::totp::{TotpSecret, code_at};

const PASSWORD: &str = "correct horse battery staple";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A user with an authenticator app, signed in on `browser`: the email, the
/// app's secret and two backup codes. The enable used this step's code: the
/// one sign-in with a code below uses the next step's (each is accepted once).
async fn with_app(browser: &mut Browser) -> (String, TotpSecret, [String; 2]) {
    let email = unique_email("sessions");
    verified_and_signed_in(browser, &email, PASSWORD).await;
    let setup = browser.post("/auth/2fa/setup", None).await;
    let secret = TotpSecret::from_base32(setup.body["secret"].as_str().unwrap()).unwrap();
    let enabled = browser.post("/auth/2fa/enable", Some(json!({ "code": code_at(&secret, unix_now()) }))).await;
    assert_eq!(enabled.status, 200, "{:?}", enabled.body);
    let backup = |i: usize| enabled.body["backupCodes"][i].as_str().unwrap().to_string();
    (email, secret, [backup(0), backup(1)])
}

/// Password then the second factor on `browser`.
async fn sign_in(browser: &mut Browser, email: &str, proof: Value) {
    let login = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(login.body, json!({ "requires2FA": true }));
    let verified = browser.post("/auth/2fa/verify-login", Some(proof)).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
}

/// The next step's code (accepted as one step of drift, and later than the enable's).
fn next_code(secret: &TotpSecret) -> String {
    code_at(secret, unix_now() + 30)
}

fn ids(list: &Value, key: &str) -> Vec<(String, bool)> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_str().unwrap().to_string(), item["current"].as_bool().unwrap()))
        .collect()
}

#[tokio::test]
async fn a_remembered_browser_skips_the_code_until_forgotten_and_sessions_end_one_by_one() {
    let mut laptop = Browser::new();
    let (email, secret, [backup, another_backup]) = with_app(&mut laptop).await;
    assert_eq!(laptop.post("/auth/logout", None).await.status, 204);
    sign_in(&mut laptop, &email, json!({ "code": next_code(&secret), "rememberDevice": true })).await;
    let device_token = laptop.cookie("device_token").expect("a remembered browser's cookie");

    // Signed out, the password alone signs the laptop back in (aal 2), and
    // the cookie outlived the sign-out.
    assert_eq!(laptop.post("/auth/logout", None).await.status, 204);
    assert_eq!(laptop.cookie("device_token").as_deref(), Some(device_token.as_str()));
    let again = laptop.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!((again.body["requires2FA"].clone(), again.body["user"]["aal"].clone()), (json!(false), json!(2)));
    assert!(laptop.cookie("twofa_token").is_none());

    // A second browser needs the code, and remembers nothing.
    let mut phone = Browser::new();
    sign_in(&mut phone, &email, json!({ "backupCode": backup })).await;
    assert!(phone.cookie("device_token").is_none());

    // The laptop lists both sessions (itself marked) and one device (itself).
    let sessions = laptop.get("/auth/sessions").await;
    assert_eq!(sessions.status, 200);
    let listed = ids(&sessions.body, "sessions");
    assert_eq!(listed.len(), 2, "{:?}", sessions.body);
    assert_eq!(listed.iter().filter(|(_, current)| *current).count(), 1);
    let laptop_session = sessions.body["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(laptop_session["amr"], json!(["pwd", "device"]));
    let devices = laptop.get("/auth/devices").await;
    assert_eq!(ids(&devices.body, "devices").len(), 1);
    assert_eq!(devices.body["devices"][0]["current"], true);

    // The laptop ends the phone's session: the phone is signed out at once.
    let (phone_session, _) = listed.iter().find(|(_, current)| !*current).unwrap().clone();
    assert_eq!(phone.get("/auth/me").await.status, 200);
    let revoked = laptop.post("/auth/sessions/revoke", Some(json!({ "sessionId": phone_session }))).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(phone.get("/auth/me").await.status, 401, "its access token is refused at once");
    assert_eq!(phone.post("/auth/refresh", None).await.status, 401);
    let again = laptop.post("/auth/sessions/revoke", Some(json!({ "sessionId": phone_session }))).await;
    assert_eq!((again.status.as_u16(), again.error()), (404, "session_not_found"));

    // Forgetting the laptop clears its cookie; the next sign-in asks for the code.
    let id = devices.body["devices"][0]["id"].as_str().unwrap().to_string();
    let forgotten = laptop.post("/auth/devices/forget", Some(json!({ "deviceId": id }))).await;
    assert_eq!(forgotten.status, 204);
    assert!(laptop.cookie("device_token").is_none());
    laptop.set_cookie("device_token", "/auth", &device_token);
    let asked = laptop.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(asked.body, json!({ "requires2FA": true }), "a forgotten browser's cookie is ignored");
    assert!(laptop.cookie("device_token").is_none(), "and cleared");

    let verified = laptop.post("/auth/2fa/verify-login", Some(json!({ "backupCode": another_backup }))).await;
    assert_eq!(verified.status, 200);
    let audit = laptop.get("/auth/audit").await;
    let kinds: Vec<&str> =
        audit.body["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in ["device_remembered", "device_login", "session_revoked", "device_forgotten"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn logout_all_forgets_every_remembered_browser() {
    let mut laptop = Browser::new();
    let (email, secret, _) = with_app(&mut laptop).await;
    assert_eq!(laptop.post("/auth/logout", None).await.status, 204);
    sign_in(&mut laptop, &email, json!({ "code": next_code(&secret), "rememberDevice": true })).await;
    assert!(laptop.cookie("device_token").is_some());
    assert_eq!(laptop.post("/auth/logout-all", None).await.status, 204);
    assert!(laptop.cookie("device_token").is_some(), "logout-all leaves the cookie, dead");
    let login = laptop.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(login.body, json!({ "requires2FA": true }));
    assert!(laptop.cookie("device_token").is_none(), "the dead cookie is cleared at the next login");
}
