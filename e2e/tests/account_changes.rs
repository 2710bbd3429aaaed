//! Changing the email and deleting the account, over HTTP as a user of the
//! front end would: the confirmation link mailed to the new address (read
//! from moto's SES), the notices to both addresses, the sessions that end,
//! and an account that is gone for good (tokens, login, passkey, stored items)
//! while its address and credential id are free again.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e::{Browser, Page, front_end_origin, stored_state, unique_email, verified_and_signed_in};
use serde_json::json;
use shared::factors::totp::{TotpSecret, code_at};
use testkit::passkey::{Behaviour, SoftPasskey};
use testkit::{SentMail, mail_to};

const PASSWORD: &str = "correct horse battery staple";
const CHANGE_ASKED: &str = "A change of your email address was asked for";
const CHANGED: &str = "The email address of your account was changed";
const CONFIRM: &str = "Confirm your new email address";
const DELETED: &str = "Your account was deleted";

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

async fn login(browser: &mut Browser, email: &str) -> Page {
    browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await
}

/// The mails to `address` whose subject ends with `title`.
async fn mails_titled(address: &str, title: &str) -> Vec<SentMail> {
    mail_to(address).await.into_iter().filter(|m| m.subject.ends_with(title)).collect()
}

/// `POST /auth/email/change` to `new_email`, answered 202; the token of the
/// one confirmation link it mailed to the new address.
async fn ask_change(browser: &mut Browser, new_email: &str) -> String {
    let before = mails_titled(new_email, CONFIRM).await.len();
    let asked = browser.post("/auth/email/change", Some(json!({ "newEmail": new_email }))).await;
    assert_eq!(asked.status, 202, "{:?}", asked.body);
    assert!(asked.body["message"].is_string(), "{:?}", asked.body);
    let links = mails_titled(new_email, CONFIRM).await;
    assert_eq!(links.len(), before + 1, "one confirmation mail to {new_email}: {links:?}");
    let link = links.last().unwrap().link().expect("a link in the confirmation mail");
    assert!(link.contains("/verify-email#token="), "{link}");
    link.split_once("#token=").unwrap().1.to_string()
}

async fn confirm(token: &str) -> Page {
    Browser::on_front_end().post("/auth/email/verify", Some(json!({ "token": token }))).await
}

/// Old tokens presented by a client that kept them.
async fn me_with(access_token: &str) -> Page {
    let mut kept = Browser::new();
    kept.set_cookie("access_token", "/", access_token);
    kept.get("/auth/me").await
}

async fn refresh_with(refresh_token: &str) -> Page {
    let mut kept = Browser::new();
    kept.set_cookie("refresh_token", "/auth", refresh_token);
    kept.post("/auth/refresh", None).await
}

#[tokio::test]
async fn an_email_change_takes_effect_at_the_link_and_ends_every_session() {
    let (old, new) = (unique_email("change-old"), unique_email("change-new"));
    let mut browser = Browser::on_front_end();
    let user = verified_and_signed_in(&mut browser, &old, PASSWORD).await;
    let mut phone = Browser::new();
    assert_eq!(login(&mut phone, &old).await.status, 200);
    let (access, refresh) = (browser.cookie("access_token").unwrap(), browser.cookie("refresh_token").unwrap());

    let token = ask_change(&mut browser, &new).await;
    let notices = mails_titled(&old, CHANGE_ASKED).await;
    assert_eq!(notices.len(), 1, "a notice to the current address: {:?}", mail_to(&old).await);
    assert!(notices[0].token().is_none() && !notices[0].body.contains(&token), "no link token in the notice");
    assert!(!notices[0].body.contains(&access), "no session token in a mail");
    assert_eq!(browser.get("/auth/audit").await.event_types()[0], "email_change_requested");

    // Nothing changes until the link is used.
    let still = login(&mut Browser::new(), &old).await;
    assert_eq!((still.status.as_u16(), &still.body["user"]["email"]), (200, &json!(old)), "{:?}", still.body);
    let not_yet = login(&mut Browser::new(), &new).await;
    assert_eq!((not_yet.status.as_u16(), not_yet.error()), (401, "invalid_credentials"));
    assert_eq!(browser.get("/auth/me").await.body["email"], old.as_str());

    let confirmed = confirm(&token).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    assert_eq!(confirmed.body, json!({ "message": "email changed" }));

    // Every session from before ends: its tokens are refused at once.
    assert_eq!(browser.get("/auth/me").await.status, 401, "the session that asked");
    assert_eq!(phone.get("/auth/me").await.status, 401, "another session");
    assert_eq!(me_with(&access).await.status, 401);
    assert_eq!(refresh_with(&refresh).await.status, 401);

    let moved = login(&mut browser, &new).await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    let moved_user = &moved.body["user"];
    assert_eq!(
        (&moved_user["id"], &moved_user["email"], &moved_user["emailVerified"]),
        (&user["id"], &json!(new), &json!(true))
    );
    let kinds = browser.get("/auth/audit").await.event_types();
    for kind in ["email_changed", "email_change_requested"] {
        assert!(kinds.contains(&kind.to_string()), "{kind} in {kinds:?}");
    }

    let gone = login(&mut Browser::new(), &old).await;
    assert_eq!((gone.status.as_u16(), gone.error()), (401, "invalid_credentials"), "{:?}", gone.body);
    let again = Browser::new().post("/auth/register", Some(json!({ "email": old, "password": PASSWORD }))).await;
    assert_eq!(again.status, 201, "the old address is free: {:?}", again.body);
    assert_ne!(again.body["id"], user["id"]);

    for address in [&old, &new] {
        let changed = mails_titled(address, CHANGED).await;
        assert_eq!(changed.len(), 1, "an email_changed notice to {address}: {:?}", mail_to(address).await);
        assert!(changed[0].token().is_none() && !changed[0].body.contains(&token), "no link token in the notice");
    }

    let replayed = confirm(&token).await;
    assert_eq!((replayed.status.as_u16(), replayed.error()), (400, "invalid_token"), "a link works once");
}

#[tokio::test]
async fn a_change_link_dies_with_the_version_and_a_taken_or_same_address_is_refused() {
    let (old, new) = (unique_email("change-ver"), unique_email("change-ver-new"));
    let mut browser = Browser::on_front_end();
    verified_and_signed_in(&mut browser, &old, PASSWORD).await;

    // The version moves on (logout-all) before the link is used.
    let token = ask_change(&mut browser, &new).await;
    assert_eq!(browser.post("/auth/logout-all", None).await.status, 204);
    let late = confirm(&token).await;
    assert_eq!((late.status.as_u16(), late.error()), (400, "invalid_token"), "{:?}", late.body);
    let unchanged = login(&mut browser, &old).await;
    assert_eq!((unchanged.status.as_u16(), &unchanged.body["user"]["email"]), (200, &json!(old)));
    let not_moved = login(&mut Browser::new(), &new).await;
    assert_eq!((not_moved.status.as_u16(), not_moved.error()), (401, "invalid_credentials"));

    // An address another account has.
    let taken = unique_email("change-taken");
    let other = Browser::new().post("/auth/register", Some(json!({ "email": taken, "password": PASSWORD }))).await;
    assert_eq!(other.status, 201);
    let refused = browser.post("/auth/email/change", Some(json!({ "newEmail": taken }))).await;
    assert_eq!((refused.status.as_u16(), refused.error()), (409, "email_taken"), "{:?}", refused.body);
    assert!(mails_titled(&taken, CONFIRM).await.is_empty(), "no link to another account's address");

    // The account's own address, however it is typed.
    let same =
        browser.post("/auth/email/change", Some(json!({ "newEmail": format!("  {}", old.to_uppercase()) }))).await;
    assert_eq!((same.status.as_u16(), same.error()), (400, "invalid_request"), "{:?}", same.body);
    assert_eq!(browser.get("/auth/me").await.body["email"], old.as_str());
}

#[tokio::test]
async fn a_newer_change_replaces_the_older_link_and_a_fourth_request_in_an_hour_waits() {
    let old = unique_email("change-many");
    let [first, second, third, fourth] = ["one", "two", "three", "four"].map(|n| unique_email(&format!("change-{n}")));
    let mut browser = Browser::on_front_end();
    verified_and_signed_in(&mut browser, &old, PASSWORD).await;

    let first_token = ask_change(&mut browser, &first).await;
    let second_token = ask_change(&mut browser, &second).await;
    let stale = confirm(&first_token).await;
    assert_eq!((stale.status.as_u16(), stale.error()), (400, "invalid_token"), "the older link stops working");
    let third_token = ask_change(&mut browser, &third).await;

    let limited = browser.post("/auth/email/change", Some(json!({ "newEmail": fourth }))).await;
    assert_eq!((limited.status.as_u16(), limited.error()), (429, "too_many_attempts"), "{:?}", limited.body);
    let wait: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert!(mails_titled(&fourth, CONFIRM).await.is_empty());

    let stale = confirm(&second_token).await;
    assert_eq!((stale.status.as_u16(), stale.error()), (400, "invalid_token"));
    let confirmed = confirm(&third_token).await;
    assert_eq!(confirmed.body, json!({ "message": "email changed" }));
    let moved = login(&mut Browser::new(), &third).await;
    assert_eq!((moved.status.as_u16(), &moved.body["user"]["email"]), (200, &json!(third)));
}

/// Waits, if needed, until at least `need` seconds of the current 30-second step are left.
async fn room_in_step(need: u64) {
    let left = 30 - unix_now() % 30;
    if left < need {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// A passkey registered through the routes on `browser`'s account.
async fn add_passkey(browser: &mut Browser) -> SoftPasskey {
    let options = browser.post("/auth/factors/passkey/options", Some(json!({}))).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let (passkey, credential) =
        SoftPasskey::register(&options.body["publicKey"], &front_end_origin(), Behaviour::default());
    let body = json!({ "ceremonyId": options.body["ceremonyId"], "credential": credential });
    let registered = browser.post("/auth/factors/passkey", Some(body)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    passkey
}

const COOKIES: [(&str, &str); 4] =
    [("access_token", "/"), ("refresh_token", "/auth"), ("twofa_token", "/auth/2fa"), ("device_token", "/auth")];

#[tokio::test]
async fn a_deleted_account_is_gone_and_its_address_and_passkey_are_free() {
    let email = unique_email("delete");
    let mut browser = Browser::on_front_end();
    let user = verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let user_id = user["id"].as_str().unwrap().to_string();

    // 2FA with an app, a remembered browser, and a passkey beside the app.
    let setup = browser.post("/auth/2fa/setup", None).await;
    assert_eq!(setup.status, 200, "{:?}", setup.body);
    let secret = TotpSecret::from_base32(setup.body["secret"].as_str().unwrap()).unwrap();
    room_in_step(5).await;
    let enabled = browser.post("/auth/2fa/enable", Some(json!({ "code": code_at(&secret, unix_now()) }))).await;
    assert_eq!(enabled.status, 200, "{:?}", enabled.body);
    assert_eq!(browser.post("/auth/logout", None).await.status, 204);
    assert_eq!(login(&mut browser, &email).await.body, json!({ "requires2FA": true }));
    // The next step's code: the enable used this one.
    let proof = json!({ "code": code_at(&secret, unix_now() + 30), "rememberDevice": true });
    let verified = browser.post("/auth/2fa/verify-login", Some(proof)).await;
    assert_eq!(verified.status, 200, "{:?}", verified.body);
    assert!(browser.cookie("device_token").is_some());
    let mut passkey = add_passkey(&mut browser).await;
    let me = browser.get("/auth/me").await.body;
    assert_eq!((&me["twoFactorEnabled"], &me["passkeys"]), (&json!(true), &json!(1)));
    let (access, refresh) = (browser.cookie("access_token").unwrap(), browser.cookie("refresh_token").unwrap());

    // Another address typed: refused, and nothing deleted.
    let state = stored_state(&user_id, &email).await;
    assert!(!state.is_empty());
    let other_address = unique_email("delete-typo");
    let typo = browser.post("/auth/account/delete", Some(json!({ "email": other_address }))).await;
    assert_eq!((typo.status.as_u16(), typo.error()), (400, "invalid_request"), "{:?}", typo.body);
    assert!(typo.set_cookies().is_empty(), "no cookie cleared: {:?}", typo.set_cookies());
    assert_eq!(stored_state(&user_id, &email).await, state, "nothing changed");
    assert_eq!(browser.get("/auth/me").await.status, 200);

    // The address typed again, in upper case with spaces: normalised as at login.
    let typed = format!("  {}  ", email.to_uppercase());
    let deleted = browser.post("/auth/account/delete", Some(json!({ "email": typed }))).await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body, json!({ "message": "account deleted" }));
    let lines = deleted.set_cookies();
    for (name, path) in COOKIES {
        let cleared = lines.iter().filter_map(|line| cookie::Cookie::parse(line.clone()).ok()).any(|c| {
            c.name() == name
                && c.value().is_empty()
                && c.path() == Some(path)
                && c.max_age() == Some(cookie::time::Duration::ZERO)
        });
        assert!(cleared, "{name} cleared on {path}: {lines:?}");
        assert!(browser.cookie(name).is_none(), "{name}");
    }

    // No item of it remains (shortly after the answer): its partition and its login item.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = stored_state(&user_id, &email).await;
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "items of the deleted account remain: {left:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // From the answer on, nothing of the account can be used.
    let refused = me_with(&access).await;
    assert_eq!((refused.status.as_u16(), refused.error()), (401, "unauthorized"));
    assert_eq!(refresh_with(&refresh).await.status, 401);
    let password = login(&mut Browser::new(), &email).await;
    assert_eq!((password.status.as_u16(), password.error()), (401, "invalid_credentials"), "{:?}", password.body);
    let mut by_passkey = Browser::on_front_end();
    let options = by_passkey.post("/auth/passkey/options", Some(json!({}))).await;
    assert_eq!(options.status, 200);
    let credential = passkey.assert(&options.body["publicKey"], &front_end_origin(), Default::default());
    let signed_in = by_passkey
        .post(
            "/auth/passkey/login",
            Some(json!({ "ceremonyId": options.body["ceremonyId"], "credential": credential })),
        )
        .await;
    assert_eq!((signed_in.status.as_u16(), signed_in.error()), (401, "invalid_credentials"), "{:?}", signed_in.body);

    // Nothing above wrote into the deleted account: its partition stays
    // empty, and the address's login item (a failed password's count, if
    // any) names no account.
    let left = stored_state(&user_id, &email).await;
    assert!(
        left.iter().all(|item| item["pk"].as_s().unwrap().starts_with("EMAIL#") && !item.contains_key("userId")),
        "items of the deleted account: {left:?}"
    );

    // A last mail went to the address.
    let mails = mail_to(&email).await;
    let last = mails.last().expect("mail to the address");
    assert!(last.subject.ends_with(DELETED), "the last mail: {last:?}");
    assert!(last.token().is_none(), "no link token: {last:?}");

    // The address and the passkey's credential id are free.
    let again = Browser::new().post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_ne!(again.body["id"], user_id.as_str());
    let mut other = Browser::on_front_end();
    verified_and_signed_in(&mut other, &unique_email("delete-heir"), PASSWORD).await;
    let options = other.post("/auth/factors/passkey/options", Some(json!({}))).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let copied = passkey.register_again(&options.body["publicKey"], &front_end_origin());
    let registered = other
        .post("/auth/factors/passkey", Some(json!({ "ceremonyId": options.body["ceremonyId"], "credential": copied })))
        .await;
    assert_eq!(registered.status, 201, "the credential id is free: {:?}", registered.body);
}
