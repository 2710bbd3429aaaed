//! The password-only flow over HTTP: register, login, me, refresh, logout.

use e2e::{Browser, unique_email};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn register_login_me_refresh_logout() {
    let mut browser = Browser::new();
    let email = unique_email("walk");

    let registered = browser.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(registered.status, 201);
    assert!(registered.set_cookies().is_empty());
    let id = registered.body["id"].as_str().unwrap().to_string();

    let taken = browser.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!((taken.status.as_u16(), taken.error()), (409, "email_taken"));

    let login = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(login.status, 200);
    assert_eq!(login.body["requires2FA"], false);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let lines = login.set_cookies();
    assert!(lines.iter().any(|l| l.starts_with("access_token=") && l.contains("Path=/;") && l.contains("HttpOnly")));
    assert!(lines.iter().any(|l| l.starts_with("refresh_token=") && l.contains("Path=/auth")));

    let me = browser.get("/auth/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(
        me.body,
        json!({
            "id": id, "email": email, "emailVerified": false, "role": "user", "twoFactorEnabled": false, "aal": 1,
            "passkeys": 0
        })
    );

    let old_refresh = browser.cookie("refresh_token").unwrap();
    let refreshed = browser.post("/auth/refresh", None).await;
    assert_eq!(refreshed.status, 200);
    assert_ne!(browser.cookie("refresh_token").unwrap(), old_refresh);
    assert_eq!(browser.get("/auth/me").await.status, 200);

    let kept_refresh = browser.cookie("refresh_token").unwrap();
    let logout = browser.post("/auth/logout", None).await;
    assert_eq!(logout.status, 204);
    assert!(browser.cookie("refresh_token").is_none() && browser.cookie("access_token").is_none());

    // A copy of the refresh token kept from before the logout no longer works.
    browser.set_cookie("refresh_token", "/auth", &kept_refresh);
    assert_eq!(browser.post("/auth/refresh", None).await.status, 401);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_alike() {
    let mut browser = Browser::new();
    let email = unique_email("alike");
    browser.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    let wrong = browser.post("/auth/login", Some(json!({ "email": email, "password": "not the password" }))).await;
    let unknown =
        browser.post("/auth/login", Some(json!({ "email": unique_email("nobody"), "password": PASSWORD }))).await;
    assert_eq!((wrong.status.as_u16(), unknown.status.as_u16()), (401, 401));
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn logout_all_ends_every_session_at_once() {
    let email = unique_email("everywhere");
    let (mut laptop, mut phone) = (Browser::new(), Browser::new());
    laptop.post("/auth/register", Some(json!({ "email": email, "password": PASSWORD }))).await;
    for browser in [&mut laptop, &mut phone] {
        let login = browser.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
        assert_eq!(login.status, 200);
    }
    assert_eq!(laptop.post("/auth/logout-all", None).await.status, 204);
    assert_eq!(phone.get("/auth/me").await.status, 401, "the other access token died at once");
    assert_eq!(phone.post("/auth/refresh", None).await.status, 401);
}
