//! Passkeys over HTTP, as a browser on the front end would use them: the
//! ceremonies run through the routes (options, then the answer of testkit's
//! software authenticator, made for the front end's origin on `localhost`),
//! never through the test environment. The first factor turns 2FA on; a
//! passkey proves the second step of a sign-in, a re-authentication, a
//! disable and a reset; factors are listed, renamed, added and removed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use e2e::{Browser, Page, front_end_origin, unique_email, verified_and_signed_in};
use reqwest::Method;
use serde_json::{Value, json};
use shared::domain::RECENT_AUTH_SECS;
use shared::factors::totp::{TotpSecret, code_at};
use testkit::passkey::{Behaviour, SoftPasskey, Tamper};

const PASSWORD: &str = "correct horse battery staple";

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The cookie names a response set (with a value) or cleared.
fn cookies_set(page: &Page) -> Vec<String> {
    page.set_cookies().iter().map(|line| line.split('=').next().unwrap().to_string()).collect()
}

/// A user signed in on the front end whose first factor is a passkey.
struct WithPasskey {
    email: String,
    browser: Browser,
    passkey: SoftPasskey,
    factor: Value,
    backup_codes: Vec<String>,
}

/// `POST /auth/factors/passkey/options` with `options_body`, then the
/// authenticator's answer at `POST /auth/factors/passkey`: the options'
/// answer, the registration's request body and its answer.
async fn register_passkey(
    browser: &mut Browser,
    options_body: Value,
    behaviour: Behaviour,
) -> (Page, SoftPasskey, Value, Page) {
    let options = browser.post("/auth/factors/passkey/options", Some(options_body)).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let (passkey, credential) = SoftPasskey::register(&options.body["publicKey"], &front_end_origin(), behaviour);
    let body = json!({ "ceremonyId": options.body["ceremonyId"], "credential": credential });
    let registered = browser.post("/auth/factors/passkey", Some(body.clone())).await;
    (options, passkey, body, registered)
}

async fn with_first_passkey(name: &str, behaviour: Behaviour) -> WithPasskey {
    let email = unique_email(name);
    let mut browser = Browser::on_front_end();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let (_, passkey, _, registered) = register_passkey(&mut browser, json!({}), behaviour).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let backup_codes = registered.body["backupCodes"]
        .as_array()
        .expect("backup codes: the passkey turned 2FA on")
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    WithPasskey { email, browser, passkey, factor: registered.body["factor"].clone(), backup_codes }
}

/// `POST /auth/2fa/challenge` (`{}`: the user is the pre-2FA cookie's, else
/// the access token's): the ceremony id and the request options.
async fn challenge(browser: &mut Browser) -> (String, Value) {
    let page = browser.post("/auth/2fa/challenge", Some(json!({}))).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    (page.body["ceremonyId"].as_str().unwrap().to_string(), page.body["publicKey"].clone())
}

/// `{"passkey": {"ceremonyId", "credential"}}`, the assertion made at the front end's origin.
fn proof(passkey: &mut SoftPasskey, ceremony_id: &str, public_key: &Value, tamper: Tamper) -> Value {
    json!({ "passkey": {
        "ceremonyId": ceremony_id,
        "credential": passkey.assert(public_key, &front_end_origin(), tamper),
    } })
}

async fn login(browser: &mut Browser, email: &str, password: &str) -> Page {
    let page = browser.post("/auth/login", Some(json!({ "email": email, "password": password }))).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page
}

/// The first passkey, made by `behaviour`, turns 2FA on exactly as enable
/// does; then it proves the second step of a sign-in, with `method` in `amr`.
async fn a_first_passkey_turns_2fa_on_and_proves_a_sign_in(behaviour: Behaviour, method: &str) {
    let email = unique_email("pk-first");
    let mut browser = Browser::on_front_end();
    let user = verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let mut elsewhere = Browser::new();
    assert_eq!(login(&mut elsewhere, &email, PASSWORD).await.body["requires2FA"], false);

    let (options, mut passkey, body, registered) =
        register_passkey(&mut browser, json!({ "name": "Laptop" }), behaviour).await;
    let public_key = &options.body["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], email.as_str());
    let handle = B64.decode(public_key["user"]["id"].as_str().unwrap()).unwrap();
    assert!(!handle.is_empty() && handle != user["id"].as_str().unwrap().as_bytes() && handle != email.as_bytes());
    assert_eq!(B64.decode(public_key["challenge"].as_str().unwrap()).unwrap().len(), 32);
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "preferred");
    assert_eq!(public_key["attestation"], "none");
    let algorithms: Vec<i64> =
        public_key["pubKeyCredParams"].as_array().unwrap().iter().map(|p| p["alg"].as_i64().unwrap()).collect();
    assert!(algorithms.contains(&-7) && algorithms.contains(&-257), "ES256 and RS256: {algorithms:?}");
    assert_eq!(public_key["excludeCredentials"].as_array().map_or(0, Vec::len), 0, "no passkey yet");

    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let factor = &registered.body["factor"];
    assert_eq!((&factor["type"], &factor["name"]), (&json!("passkey"), &json!("Laptop")));
    assert_eq!((&factor["synced"], &factor["lastUsedAt"]), (&json!(behaviour.synced), &Value::Null));
    let backup = registered.body["backupCodes"].as_array().expect("backup codes: 2FA turned on");
    assert_eq!(backup.len(), 10);
    for code in backup {
        let code = code.as_str().unwrap();
        assert!(
            code.len() == 11
                && code.as_bytes()[5] == b'-'
                && code.chars().filter(|c| *c != '-').all(|c| matches!(c, 'a'..='z' | '2'..='7')),
            "{code}"
        );
    }
    let set = cookies_set(&registered);
    assert!(set.contains(&"access_token".into()) && set.contains(&"refresh_token".into()), "fresh cookies: {set:?}");
    let fresh = browser.access_claims();
    assert_eq!(
        (&fresh["aal"], &fresh["amr"], &fresh["scope"]),
        (&json!(2), &json!(["pwd", method]), &json!("aal1 aal2"))
    );
    assert_eq!(elsewhere.get("/auth/me").await.status, 401, "every other session ends");
    let me = browser.get("/auth/me").await.body;
    assert_eq!((&me["twoFactorEnabled"], &me["passkeys"], &me["aal"]), (&json!(true), &json!(1), &json!(2)));
    let status = browser.get("/auth/2fa/status").await.body;
    assert_eq!(
        (&status["enabled"], &status["factors"], &status["backupCodesRemaining"]),
        (&json!(true), &json!(1), &json!(10))
    );
    assert_eq!(browser.get("/auth/audit").await.event_types()[0], "twofa_enabled");

    // The registration's ceremony worked once.
    let replayed = browser.post("/auth/factors/passkey", Some(body)).await;
    assert_eq!((replayed.status.as_u16(), replayed.error()), (400, "ceremony_expired"));

    // Sign in again: the password, then the passkey.
    assert_eq!(browser.post("/auth/logout", None).await.status, 204);
    assert_eq!(login(&mut browser, &email, PASSWORD).await.body, json!({ "requires2FA": true }));
    let (ceremony, request) = challenge(&mut browser).await;
    let allowed: Vec<&str> =
        request["allowCredentials"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(allowed, [B64.encode(&passkey.credential_id)]);
    assert_eq!(request["userVerification"], "required");
    let answer = proof(&mut passkey, &ceremony, &request, Tamper::default());
    let verified = browser.post("/auth/2fa/verify-login", Some(answer.clone())).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert_eq!(verified.body["message"], "2FA verified");
    assert_eq!((&verified.body["user"]["aal"], &verified.body["user"]["passkeys"]), (&json!(2), &json!(1)));
    assert!(browser.cookie("twofa_token").is_none(), "the pre-2FA cookie is cleared");
    let signed_in = browser.access_claims();
    assert_eq!((&signed_in["aal"], &signed_in["amr"]), (&json!(2), &json!(["pwd", method])));
    assert_eq!(&browser.get("/auth/audit").await.event_types()[..2], ["twofa_verified", "login"]);
    let factors = browser.get("/auth/factors").await;
    assert_eq!(factors.status, 200);
    assert!(factors.body["factors"][0]["lastUsedAt"].is_string(), "the proof records its use: {:?}", factors.body);

    // The same assertion at another sign-in: its ceremony is used up.
    let mut replay = Browser::on_front_end();
    login(&mut replay, &email, PASSWORD).await;
    let refused = replay.post("/auth/2fa/verify-login", Some(answer)).await;
    assert_eq!((refused.status.as_u16(), refused.error()), (400, "ceremony_expired"));
    assert!(replay.cookie("access_token").is_none());

    if !behaviour.synced {
        // A device-bound passkey counts its signatures: one whose counter did not grow is refused.
        let (ceremony, request) = challenge(&mut replay).await;
        let stale = Tamper { counter: Some(passkey.counter), ..Tamper::default() };
        let cloned = replay.post("/auth/2fa/verify-login", Some(proof(&mut passkey, &ceremony, &request, stale))).await;
        assert_eq!((cloned.status.as_u16(), cloned.error()), (400, "invalid_credential"));
        let (ceremony, request) = challenge(&mut replay).await;
        let answer = proof(&mut passkey, &ceremony, &request, Tamper::default());
        assert_eq!(replay.post("/auth/2fa/verify-login", Some(answer)).await.status, 200);
    }
}

#[tokio::test]
async fn a_first_device_bound_passkey_turns_2fa_on_and_signs_in_with_hwk() {
    a_first_passkey_turns_2fa_on_and_proves_a_sign_in(Behaviour::default(), "hwk").await;
}

#[tokio::test]
async fn a_first_synced_passkey_turns_2fa_on_and_signs_in_with_swk() {
    a_first_passkey_turns_2fa_on_and_proves_a_sign_in(Behaviour { synced: true, ..Behaviour::default() }, "swk").await;
}

#[tokio::test]
async fn turning_2fa_on_with_a_passkey_needs_a_verified_address() {
    let email = unique_email("pk-unverified");
    let mut browser = Browser::on_front_end();
    assert_eq!(browser.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await.status, 201);
    login(&mut browser, &email, PASSWORD).await;
    let options = browser.post("/auth/factors/passkey/options", Some(json!({}))).await;
    assert_eq!((options.status.as_u16(), options.error()), (403, "email_unverified"));
    let setup = browser.post("/auth/2fa/setup", None).await;
    assert_eq!((setup.status.as_u16(), setup.error()), (403, "email_unverified"));
    assert_eq!(browser.get("/auth/2fa/status").await.body["enabled"], false);
}

#[tokio::test]
async fn a_registration_that_does_not_verify_is_refused_and_uses_its_ceremony_up() {
    let email = unique_email("pk-refused");
    let mut browser = Browser::on_front_end();
    verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let ip_origin =
        std::env::var("E2E_ALLOWED_ORIGINS").unwrap().split(',').find(|o| !o.contains("localhost")).map(str::to_string);
    let mut cases = vec![
        ("no user verification", Behaviour { user_verified: false, ..Behaviour::default() }, front_end_origin()),
        ("no user presence", Behaviour { user_present: false, ..Behaviour::default() }, front_end_origin()),
        ("another site's origin", Behaviour::default(), "https://evil.example".to_string()),
    ];
    // An allowed front end on an IP address is no origin of the relying party `localhost`.
    cases.extend(
        ip_origin.map(|origin| ("an allowed origin off the relying party's host", Behaviour::default(), origin)),
    );
    for (what, behaviour, origin) in cases {
        let options = browser.post("/auth/factors/passkey/options", Some(json!({}))).await;
        assert_eq!(options.status, 200, "{what}: {:?}", options.body);
        let (_, credential) = SoftPasskey::register(&options.body["publicKey"], &origin, behaviour);
        let body = json!({ "ceremonyId": options.body["ceremonyId"], "credential": credential });
        let refused = browser.post("/auth/factors/passkey", Some(body.clone())).await;
        assert_eq!((refused.status.as_u16(), refused.error()), (400, "invalid_credential"), "{what}");
        let again = browser.post("/auth/factors/passkey", Some(body)).await;
        assert_eq!((again.status.as_u16(), again.error()), (400, "ceremony_expired"), "{what}: used up");
    }
    let status = browser.get("/auth/2fa/status").await.body;
    assert_eq!((&status["enabled"], &status["factors"]), (&json!(false), &json!(0)), "nothing was added");
}

#[tokio::test]
async fn factors_are_listed_renamed_added_and_removed_but_never_the_last() {
    let WithPasskey { email, mut browser, factor: passkey, backup_codes, .. } =
        with_first_passkey("pk-factors", Behaviour::default()).await;

    // A phone beside the passkey: an authenticator app as a further factor.
    let setup = browser.post("/auth/2fa/setup", Some(json!({ "name": "Phone" }))).await;
    assert_eq!(setup.status, 200, "{:?}", setup.body);
    let secret = TotpSecret::from_base32(setup.body["secret"].as_str().unwrap()).unwrap();
    let left = 30 - unix_now() % 30;
    if left < 5 {
        tokio::time::sleep(Duration::from_secs(left as u64 + 1)).await;
    }
    let code = code_at(&secret, unix_now() as u64);
    let added = browser.post("/auth/2fa/enable", Some(json!({ "code": code }))).await;
    assert_eq!(added.status, 200, "{:?}", added.body);
    assert_eq!(added.body["message"], "factor added");
    assert!(added.body.get("backupCodes").is_none(), "no new backup codes");
    assert!(added.set_cookies().is_empty(), "cookies and sessions stay");
    let app = added.body["factor"].clone();
    assert_eq!((&app["type"], &app["name"]), (&json!("totp"), &json!("Phone")));

    let listed = browser.get("/auth/factors").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["backupCodesRemaining"], 10);
    let factors = listed.body["factors"].as_array().unwrap();
    let mut ids: Vec<&Value> = factors.iter().map(|f| &f["id"]).collect();
    // Oldest first, by `createdAt` (whole seconds: two factors added within
    // one second may come in either order).
    let created: Vec<&str> = factors.iter().map(|f| f["createdAt"].as_str().unwrap()).collect();
    assert!(created.is_sorted(), "oldest first: {created:?}");
    assert_eq!(created[0], passkey["createdAt"]);
    ids.sort_by_key(|id| id.as_str());
    let mut expected = [&passkey["id"], &app["id"]];
    expected.sort_by_key(|id| id.as_str());
    assert_eq!(ids, expected);
    let by_id = |id: &Value| factors.iter().find(|f| &f["id"] == id).unwrap().clone();
    assert_eq!(by_id(&passkey["id"]), passkey, "as the registration showed it");
    assert_eq!(by_id(&app["id"]), app, "as enable showed it");
    assert_eq!(browser.get("/auth/2fa/status").await.body["factors"], 2);

    let renamed =
        browser.post("/auth/factors/rename", Some(json!({ "factorId": passkey["id"], "name": "Work laptop" }))).await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    assert_eq!((&renamed.body["id"], &renamed.body["name"]), (&passkey["id"], &json!("Work laptop")));
    assert_eq!((&renamed.body["type"], &renamed.body["synced"]), (&json!("passkey"), &json!(false)));
    for (what, body, status, error) in [
        (
            "a name of 65 characters",
            json!({ "factorId": passkey["id"], "name": "x".repeat(65) }),
            400,
            "invalid_request",
        ),
        ("a blank name", json!({ "factorId": passkey["id"], "name": "  " }), 400, "invalid_request"),
        ("an unknown factor", json!({ "factorId": "no-such-factor", "name": "Mine" }), 404, "factor_not_found"),
    ] {
        let refused = browser.post("/auth/factors/rename", Some(body)).await;
        assert_eq!((refused.status.as_u16(), refused.error()), (status, error), "{what}");
    }
    let listed = browser.get("/auth/factors").await.body;
    let name_of =
        |id: &Value| listed["factors"].as_array().unwrap().iter().find(|f| &f["id"] == id).unwrap()["name"].clone();
    assert_eq!((name_of(&passkey["id"]), name_of(&app["id"])), (json!("Work laptop"), json!("Phone")));
    assert!(
        browser.get("/auth/audit").await.event_types().starts_with(&["factor_renamed".into(), "factor_added".into()])
    );

    // Another session, signed in with a backup code, ends when a factor goes.
    let mut phone = Browser::new();
    login(&mut phone, &email, PASSWORD).await;
    let by_backup = phone.post("/auth/2fa/verify-login", Some(json!({ "backupCode": backup_codes[0] }))).await;
    assert_eq!(by_backup.status, 200, "{:?}", by_backup.body);

    let amr = browser.access_claims()["amr"].clone();
    let removed = browser.post("/auth/factors/remove", Some(json!({ "factorId": passkey["id"] }))).await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    assert_eq!(removed.body, json!({ "message": "factor removed" }));
    let set = cookies_set(&removed);
    assert!(set.contains(&"access_token".into()) && set.contains(&"refresh_token".into()), "fresh cookies: {set:?}");
    let after = browser.access_claims();
    assert_eq!((&after["aal"], &after["amr"]), (&json!(2), &amr), "the same assurance");
    assert_eq!(phone.get("/auth/me").await.status, 401, "every other session ends");
    let left = browser.get("/auth/factors").await.body;
    assert_eq!(left["factors"].as_array().unwrap().iter().map(|f| &f["id"]).collect::<Vec<_>>(), [&app["id"]]);
    assert_eq!(browser.get("/auth/me").await.body["passkeys"], 0);
    assert_eq!(browser.get("/auth/audit").await.event_types()[0], "factor_removed");

    let last = browser.post("/auth/factors/remove", Some(json!({ "factorId": app["id"] }))).await;
    assert_eq!((last.status.as_u16(), last.error()), (409, "last_factor"));
    let gone = browser.post("/auth/factors/remove", Some(json!({ "factorId": passkey["id"] }))).await;
    assert_eq!((gone.status.as_u16(), gone.error()), (404, "factor_not_found"));
    let still = browser.get("/auth/2fa/status").await.body;
    assert_eq!((&still["enabled"], &still["factors"]), (&json!(true), &json!(1)), "the last factor stays");
}

/// The same session's access token as it will be once its proof is more than
/// ten minutes old: its claims with `auth_time` moved back, signed with the
/// local stack's own key as the functions sign theirs. (What it stands for is
/// waiting ten minutes.)
async fn with_an_old_proof(token: &str) -> String {
    let app: &'static shared::App =
        Box::leak(Box::new(shared::App::from_env().await.expect("the local stack's config")));
    let keys = app.keyring.keys().await.expect("the local stack's keys");
    let signing = app.keyring.signing_keys_to_sign().await.expect("the local stack's signing keys");
    let issuer_url = std::env::var("ISSUER_URL").expect("the local stack's ISSUER_URL");
    let now = unix_now();
    let mut claims = shared::tokens::verify_access(&signing, token, &issuer_url, "twofa", now).expect("a valid token");
    claims.auth_time = now - RECENT_AUTH_SECS - 1;
    claims.jti = shared::crypto::random_id();
    shared::tokens::sign_access(keys, &signing, &claims, now).expect("signed")
}

#[tokio::test]
async fn an_old_proof_asks_for_reauthentication_and_a_passkey_gives_it() {
    let WithPasskey { email, mut browser, mut passkey, .. } =
        with_first_passkey("pk-reauth", Behaviour::default()).await;
    let refresh = browser.cookie("refresh_token").unwrap();
    let before = browser.access_claims();
    let old = with_an_old_proof(&browser.cookie("access_token").unwrap()).await;
    browser.set_cookie("access_token", "/", &old);

    for (path, body) in [
        ("/auth/2fa/setup", json!({})),
        ("/auth/factors/passkey/options", json!({})),
        ("/auth/factors/remove", json!({ "factorId": "any" })),
    ] {
        let refused = browser.post(path, Some(body)).await;
        assert_eq!((refused.status.as_u16(), refused.error()), (401, "reauthentication_required"), "{path}");
        assert_eq!(
            refused.header("www-authenticate"),
            Some(r#"Bearer error="insufficient_user_authentication", max_age=600"#),
            "{path}"
        );
    }
    assert_eq!(browser.get("/auth/factors").await.status, 200, "the session itself lives on");

    // With 2FA on, the password is not the proof.
    let password = browser.post("/auth/reauthenticate", Some(json!({ "password": PASSWORD }))).await;
    assert_eq!((password.status.as_u16(), password.error()), (400, "invalid_request"));
    // A bad signature is a wrong proof.
    let (ceremony, request) = challenge(&mut browser).await;
    let forged = Tamper { bad_signature: true, ..Tamper::default() };
    let wrong = browser.post("/auth/reauthenticate", Some(proof(&mut passkey, &ceremony, &request, forged))).await;
    assert_eq!((wrong.status.as_u16(), wrong.error()), (400, "invalid_credential"));

    // A ceremony for the account is not one for a sign-in: refused at
    // verify-login, and not used up there for its own use.
    let (ceremony, request) = challenge(&mut browser).await;
    let answer = proof(&mut passkey, &ceremony, &request, Tamper::default());
    let mut signing_in = Browser::on_front_end();
    login(&mut signing_in, &email, PASSWORD).await;
    let elsewhere = signing_in.post("/auth/2fa/verify-login", Some(answer.clone())).await;
    assert_eq!((elsewhere.status.as_u16(), elsewhere.error()), (400, "ceremony_expired"));

    let asked_at = unix_now();
    let reauthenticated = browser.post("/auth/reauthenticate", Some(answer.clone())).await;
    assert_eq!(reauthenticated.status, 200, "{:?}", reauthenticated.body);
    assert_eq!(reauthenticated.body, json!({ "message": "reauthenticated" }));
    assert_eq!(cookies_set(&reauthenticated), ["access_token"], "a fresh access token only");
    assert_eq!(browser.cookie("refresh_token").unwrap(), refresh);
    let fresh = browser.access_claims();
    assert!(fresh["auth_time"].as_i64().unwrap() >= asked_at - 1, "auth_time is now: {fresh}");
    assert_eq!((&fresh["amr"], &fresh["aal"], &fresh["sid"]), (&before["amr"], &before["aal"], &before["sid"]));
    assert_eq!(browser.get("/auth/audit").await.event_types()[0], "reauthenticated");

    // The proof worked once; the recent proof opens what the old one did not.
    let replayed = browser.post("/auth/reauthenticate", Some(answer)).await;
    assert_eq!((replayed.status.as_u16(), replayed.error()), (400, "ceremony_expired"));
    let setup = browser.post("/auth/2fa/setup", Some(json!({}))).await;
    assert_eq!(setup.status, 200, "{:?}", setup.body);
}

#[tokio::test]
async fn after_logout_the_sessions_access_token_is_refused_at_once() {
    let WithPasskey { email, mut passkey, .. } = with_first_passkey("pk-logout", Behaviour::default()).await;
    let mut browser = Browser::on_front_end();
    login(&mut browser, &email, PASSWORD).await;
    let (ceremony, request) = challenge(&mut browser).await;
    let verified =
        browser.post("/auth/2fa/verify-login", Some(proof(&mut passkey, &ceremony, &request, Tamper::default()))).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    let bearer = format!("Bearer {}", browser.cookie("access_token").unwrap());
    let mut api = Browser::new();
    for path in ["/auth/me", "/auth/factors"] {
        assert_eq!(
            api.send(Method::GET, path, None, &[("authorization", bearer.as_str())]).await.status,
            200,
            "{path}"
        );
    }
    assert_eq!(browser.post("/auth/logout", None).await.status, 204);
    for path in ["/auth/me", "/auth/factors"] {
        let refused = api.send(Method::GET, path, None, &[("authorization", bearer.as_str())]).await;
        assert_eq!((refused.status.as_u16(), refused.error()), (401, "unauthorized"), "{path}");
    }
}

#[tokio::test]
async fn a_credential_belongs_to_one_account_until_its_2fa_is_turned_off_with_it() {
    let WithPasskey { mut browser, mut passkey, .. } = with_first_passkey("pk-owner", Behaviour::default()).await;
    let mut other = Browser::on_front_end();
    verified_and_signed_in(&mut other, &unique_email("pk-copier"), PASSWORD).await;

    // The same authenticator's credential, answered to the other account's ceremony.
    let options = other.post("/auth/factors/passkey/options", Some(json!({}))).await;
    assert_eq!(options.status, 200);
    let copied = passkey.register_again(&options.body["publicKey"], &front_end_origin());
    let taken = other
        .post("/auth/factors/passkey", Some(json!({ "ceremonyId": options.body["ceremonyId"], "credential": copied })))
        .await;
    assert_eq!((taken.status.as_u16(), taken.error()), (409, "credential_in_use"));
    assert_eq!(other.get("/auth/2fa/status").await.body["enabled"], false, "nothing was added");

    // Turning 2FA off, proven with the passkey, frees its credential id.
    let (ceremony, request) = challenge(&mut browser).await;
    let disabled =
        browser.post("/auth/2fa/disable", Some(proof(&mut passkey, &ceremony, &request, Tamper::default()))).await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.body);
    assert_eq!(disabled.body["message"], "2FA disabled");
    assert_eq!(browser.get("/auth/me").await.body["passkeys"], 0);
    let none = browser.post("/auth/2fa/challenge", Some(json!({}))).await;
    assert_eq!((none.status.as_u16(), none.error()), (409, "no_passkey"));

    let options = other.post("/auth/factors/passkey/options", Some(json!({}))).await;
    let copied = passkey.register_again(&options.body["publicKey"], &front_end_origin());
    let now_free = other
        .post("/auth/factors/passkey", Some(json!({ "ceremonyId": options.body["ceremonyId"], "credential": copied })))
        .await;
    assert_eq!(now_free.status, 201, "{:?}", now_free.body);
}

#[tokio::test]
async fn a_password_reset_takes_a_passkey_as_its_second_factor() {
    let WithPasskey { email, mut passkey, .. } = with_first_passkey("pk-reset", Behaviour::default()).await;
    let mut stranger = Browser::on_front_end();
    assert_eq!(stranger.post("/auth/password/forgot", Some(json!({ "email": email }))).await.status, 202);
    let mail = testkit::mail_to(&email).await.into_iter().find(|m| m.subject.ends_with("Reset your password")).unwrap();
    let token = mail.token().unwrap();
    let new_password = "a brand new passphrase";

    let page = stranger.post("/auth/2fa/challenge", Some(json!({ "resetToken": token }))).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let (ceremony, request) = (page.body["ceremonyId"].as_str().unwrap().to_string(), page.body["publicKey"].clone());
    let mut body = proof(&mut passkey, &ceremony, &request, Tamper::default());
    body["token"] = token.into();
    body["password"] = new_password.into();
    let reset = stranger.post("/auth/password/reset", Some(body)).await;
    assert_eq!(reset.status, 200, "{:?}", reset.body);
    assert_eq!(reset.body["message"], "password reset");

    let mut again = Browser::new();
    assert_eq!(login(&mut again, &email, new_password).await.body, json!({ "requires2FA": true }), "2FA is still on");
}
