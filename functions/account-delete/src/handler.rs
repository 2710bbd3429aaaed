//! `POST /auth/account/delete`: the account goes, with a recent proof and its
//! address typed again. Its profile, login item and passkeys' credential ids
//! go in one transaction (from the answer on nothing of it can be used, and
//! the address and credential ids are free), then every other item of it;
//! the cookies are cleared and the address gets a last notice.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, Email};
use shared::flows::accounts;
use shared::http::{AdminRule, DEVICE_COOKIE, authenticate, json_body, json_response, with_cookies};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    /// The account's address, typed again as confirmation.
    email: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    let body: DeleteBody = json_body(&req)?;
    if Email::parse(&body.email)? != caller.user.email {
        return Err(ApiError::invalid_request("the email is not the account's address"));
    }
    let now = app.now();
    caller.require_recent(now.timestamp())?;

    accounts::delete(app, &caller.user).await?;
    let client = ClientInfo::of(&req);
    app.mailer.send_or_log(&caller.user.email, app.mailer.account_deleted(now.timestamp_millis(), &client)).await;
    // The account's remembered browsers are gone with it: their cookie too
    // (a sign-out leaves it, as it still names a live device).
    let mut cookies = app.config.cookies.clear_all();
    cookies.push(app.config.cookies.clear(DEVICE_COOKIE));
    let response = json_response(StatusCode::OK, &json!({ "message": "account deleted" }));
    Ok(with_cookies(response, cookies))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use chrono::Duration;
    use serde_json::Value;
    use shared::domain::{EventKind, SecondFactor};
    use shared::store::writes;
    use testkit::passkey::Behaviour;
    use testkit::proxy::Fault;
    use testkit::{Reply, TestEnv, behind_proxy, call, event, mail_to, one_notice, unique_email, with_logs};

    type Item = HashMap<String, AttributeValue>;

    async fn delete(app: &impl AsRef<App>, access: &str, email: &str) -> Reply {
        let req = event("account-delete").cookie("access_token", access).json(json!({ "email": email }));
        call(app, handle, req.request()).await
    }

    fn key(item: &Item) -> String {
        format!("{} {}", item["pk"].as_s().unwrap(), item["sk"].as_s().unwrap())
    }

    /// The items of the table that belong to `user_id` or its `address`: its
    /// partition, its login item, its passkeys' credential ids.
    fn items_of(dump: &[Item], user_id: &str, address: &str) -> Vec<String> {
        dump.iter()
            .filter(|item| {
                let pk = item["pk"].as_s().unwrap();
                pk == &format!("USER#{user_id}")
                    || pk == &format!("EMAIL#{address}")
                    || item.get("userId").and_then(|id| id.as_s().ok()).is_some_and(|id| id == user_id)
            })
            .map(key)
            .collect()
    }

    fn client() -> ClientInfo {
        ClientInfo::of(&event("account-delete").request())
    }

    #[tokio::test]
    async fn the_account_and_every_item_of_it_go_its_tokens_die_and_its_address_and_passkey_are_free() {
        let env = TestEnv::new().await;
        let address = unique_email("leaving");
        let kit = env.enroll(&env.register_verified(&address).await).await;
        let (user, _, _) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let other = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let caller = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let now = env.app.now().timestamp_millis();
        env.app.repo.commit(writes::audit(&user.id, &[EventKind::LoginFailed], now, &client())).await.unwrap();
        let bystander = env.register(&unique_email("stays")).await;
        env.sign_in(&bystander, None).await;
        let before = env.dump().await;
        let mine = items_of(&before, &user.id, &address);
        println!("the user's items before: {mine:#?}");
        assert!(
            mine.iter().any(|k| k.starts_with("CRED#")) && mine.iter().filter(|k| k.contains("SESSION#")).count() == 2
        );
        env.keys().await;
        env.calls.reset();

        let reply = delete(&env, &caller.access_token, &format!(" {} ", address.to_uppercase())).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "account deleted" })));
        let calls = env.calls.take();
        assert_eq!(
            calls,
            [
                "DynamoDB.BatchGetItem",
                "DynamoDB.TransactWriteItems",
                "DynamoDB.Query",
                "DynamoDB.BatchWriteItem",
                "SESv2.SendEmail"
            ],
            "AWS calls of a deletion: {calls:?}"
        );
        let cleared: Vec<_> = reply
            .set_cookies()
            .iter()
            .map(|c| (c.name().to_string(), c.value().to_string(), c.path().map(str::to_string), c.max_age()))
            .collect();
        let zero = Some(cookie::time::Duration::ZERO);
        let expected: Vec<_> = [
            ("access_token", "/"),
            ("refresh_token", "/auth"),
            ("twofa_token", "/auth/2fa"),
            ("device_token", "/auth"),
        ]
        .iter()
        .map(|(name, path)| (name.to_string(), String::new(), Some(path.to_string()), zero))
        .collect();
        assert_eq!(cleared, expected);

        let after = env.dump().await;
        println!("the table after the deletion: {:#?}", after.iter().map(key).collect::<Vec<_>>());
        assert_eq!(items_of(&after, &user.id, &address), Vec::<String>::new(), "items of the deleted account remain");
        let others = |dump: &[Item]| dump.iter().filter(|i| !mine.contains(&key(i))).cloned().collect::<Vec<_>>();
        assert_eq!(others(&after), others(&before), "another account's items changed");

        for token in [&caller.access_token, &other.access_token] {
            let req = event("me").bearer(token).request();
            let refused = shared::http::authenticate(&env.app, &req, shared::http::AdminRule::OpenBeforeTwofa).await;
            assert!(matches!(refused, Err(ApiError::Unauthorized)), "a token of the deleted account works");
        }
        let again = delete(&env, &caller.access_token, &address).await;
        assert_eq!((again.status(), again.error()), (401, "unauthorized".into()));
        let notice = one_notice(&address, "Your account was deleted", env.app.now(), &client(), &[]).await;
        assert!(notice.body.contains("free to sign up again"), "{}", notice.body);
        assert_eq!(mail_to(&address).await.len(), 1, "one last mail");
        let reborn = env.register(&address).await;
        assert_ne!(reborn.id, user.id, "the address is free to register again");
    }

    #[tokio::test]
    async fn another_address_bad_input_an_old_proof_or_no_session_delete_nothing() {
        let env = TestEnv::new().await;
        let address = unique_email("careful");
        let user = env.register(&address).await;
        let session = env.sign_in(&user, None).await;
        let before = env.dump().await;
        for (body, error) in [
            (json!({ "email": unique_email("someone-else") }), "invalid_request"),
            (json!({ "email": "not an address" }), "invalid_request"),
            (json!({ "email": address, "really": true }), "invalid_request"),
            (json!({}), "invalid_request"),
            (json!({ "email": null }), "invalid_request"),
        ] {
            let req = event("account-delete").cookie("access_token", &session.access_token).json(body.clone());
            let reply = call(&env, handle, req.request()).await;
            assert_eq!((reply.status(), reply.error().as_str()), (400, error), "{body}");
        }
        let bad_type =
            event("account-delete").cookie("access_token", &session.access_token).header("content-type", None);
        assert_eq!(call(&env, handle, bad_type.request()).await.status(), 415);
        let no_session = call(&env, handle, event("account-delete").cookies::<&str>(&[]).request()).await;
        assert_eq!((no_session.status(), no_session.error()), (401, "unauthorized".into()));
        env.clock.advance(Duration::minutes(11));
        let old = delete(&env, &session.access_token, &address).await;
        assert_eq!((old.status(), old.error()), (401, "reauthentication_required".into()));
        assert!(old.header("www-authenticate").unwrap().contains("insufficient_user_authentication"));
        assert_eq!(env.dump().await, before, "something changed");
        assert!(mail_to(&address).await.is_empty());
    }

    #[tokio::test]
    async fn an_admin_without_2fa_is_403() {
        let env = TestEnv::new().await;
        let address = unique_email("admin-delete");
        let admin = env.grant_admin(&env.register(&address).await).await;
        let session = env.sign_in(&admin, None).await;
        let reply = delete(&env, &session.access_token, &address).await;
        assert_eq!((reply.status(), reply.error()), (403, "mfa_required".into()));
        assert!(env.app.repo.user(&admin.id).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn an_unreachable_dynamodb_at_the_commit_is_503_and_nothing_is_deleted() {
        let (proxy, env) = behind_proxy().await;
        let address = unique_email("kept");
        let user = env.register(&address).await;
        let session = env.sign_in(&user, None).await;
        env.keys().await;
        let before = env.dump().await;
        // The session read passes; the transaction finds DynamoDB gone.
        proxy.fail_after(1, Fault::Refuse);
        let reply = delete(&env, &session.access_token, &address).await;
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
        assert!(reply.set_cookies().is_empty(), "cookies cleared for an account that is still there");
        proxy.set(Fault::None);
        assert_eq!(env.dump().await, before, "something was deleted");
        assert!(mail_to(&address).await.is_empty(), "a notice of a deletion that did not happen");
        assert_eq!(delete(&env, &session.access_token, &address).await.status(), 200, "a retry deletes it");
    }

    #[tokio::test]
    async fn a_clean_up_that_fails_after_the_commit_answers_200_and_leaves_only_items_with_a_ttl() {
        let (proxy, env) = behind_proxy().await;
        let address = unique_email("half");
        let user = env.register(&address).await;
        let session = env.sign_in(&user, None).await;
        env.keys().await;
        // The session read and the transaction pass; the clean-up's Query finds DynamoDB gone (and SES).
        proxy.fail_after(2, Fault::Refuse);
        let (reply, logs) = with_logs(delete(&env, &session.access_token, &address)).await;
        proxy.set(Fault::None);
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "account deleted" })));
        assert!(logs.contains("account deleted, clean-up incomplete") && logs.contains(&user.id), "{logs}");
        assert!(env.app.repo.user(&user.id).await.unwrap().is_none(), "the profile stays");
        assert!(env.app.repo.login_of(&user.email).await.unwrap().is_none(), "the address is not free");
        let left: Vec<Item> =
            env.dump().await.into_iter().filter(|i| i["pk"].as_s().unwrap() == &format!("USER#{}", user.id)).collect();
        println!("left to their ttl: {:#?}", left.iter().map(key).collect::<Vec<_>>());
        assert!(!left.is_empty(), "the clean-up was not interrupted");
        assert!(left.iter().all(|item| item.contains_key("ttl")), "an item without ttl is left forever");
    }

    #[tokio::test]
    async fn a_long_security_log_is_deleted_page_by_page_in_groups_of_25() {
        let env = TestEnv::new().await;
        let address = unique_email("verbose");
        let user = env.register(&address).await;
        let start = env.app.now().timestamp_millis();
        for batch in 0..3 {
            let kinds = [EventKind::LoginFailed; 80];
            let events = writes::audit(&user.id, &kinds, start + batch * 1000, &client());
            env.app.repo.commit(events).await.unwrap();
        }
        let session = env.sign_in(&user, None).await;
        // 240 failures, the registration and the session: 242 items after the profile.
        env.keys().await;
        env.calls.reset();
        assert_eq!(delete(&env, &session.access_token, &address).await.status(), 200);
        let calls = env.calls.take();
        let count = |name: &str| calls.iter().filter(|c| *c == name).count();
        assert_eq!((count("DynamoDB.Query"), count("DynamoDB.BatchWriteItem")), (3, 10), "AWS calls: {calls:?}");
        assert_eq!(items_of(&env.dump().await, &user.id, &address), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_passkey_added_while_the_account_is_deleted_keeps_no_credential_id() {
        let env = TestEnv::new().await;
        let address = unique_email("late-passkey");
        let kit = env.enroll(&env.register_verified(&address).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let (proxy, paused) = env.paused_container().await;
        // The deletion reads the account; its transaction waits while a passkey is added.
        proxy.fail_after(1, Fault::Stall);
        let (reply, ()) = futures::join!(delete(&paused, &session.access_token, &address), async {
            proxy.wait_for_calls(2).await;
            env.add_passkey(&kit.user, Behaviour::default()).await;
            proxy.set(Fault::None);
        });
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()), "{:?}", reply.json());
        assert!(env.app.repo.user(&kit.user.id).await.unwrap().is_some(), "deleted with a factor it did not read");
        let retry = delete(&paused, &session.access_token, &address).await;
        assert_eq!(retry.status(), 200);
        let after = env.dump().await;
        assert_eq!(items_of(&after, &kit.user.id, &address), Vec::<String>::new(), "a credential id is still held");
    }

    #[tokio::test]
    async fn two_deletions_at_once_one_deletes_the_other_finds_nothing() {
        let env = TestEnv::new().await;
        let address = unique_email("twice");
        let user = env.register(&address).await;
        let a = env.sign_in(&user, None).await;
        let b = env.sign_in(&user, None).await;
        let (first, second) =
            futures::join!(delete(&env, &a.access_token, &address), delete(&env, &b.access_token, &address));
        let mut outcomes = [(first.status(), first.error()), (second.status(), second.error())];
        outcomes.sort();
        assert_eq!(outcomes, [(200, String::new()), (401, "unauthorized".to_string())]);
        assert_eq!(items_of(&env.dump().await, &user.id, &address), Vec::<String>::new());
        let _: Value = first.json();
    }
}
