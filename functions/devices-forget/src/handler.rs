//! `POST /auth/devices/forget`: one remembered browser, or all of them, stop
//! skipping the second factor. Forgetting the browser that sent the request
//! also clears its cookie.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::crypto::DeviceToken;
use shared::domain::{Aal, ClientInfo, EventKind, Role};
use shared::http::{
    AdminRule, DEVICE_COOKIE, body_of_signed_in, cookie, no_content, presented_claims, still_signed_in, with_cookies,
};
use shared::store::{Write, writes};
use shared::{ApiError, App};

/// `{"deviceId"}` or `{"all": true}`, exactly one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ForgetBody {
    #[serde(rename = "deviceId")]
    device_id: Option<String>,
    all: Option<bool>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let claims = presented_claims(app, &req).await?;
    // An admin's aal-1 token is an admin without 2FA (the transaction checks its version).
    if claims.role == Role::Admin && claims.aal == Aal::One {
        return Err(ApiError::MfaRequired);
    }
    let body: ForgetBody = body_of_signed_in(app, &req, AdminRule::RequiresTwofa).await?;
    let user_id = &claims.reg.sub;
    // One transaction (a read first to forget all): the caller still signed
    // in, the devices gone, the event.
    let mut commit: Vec<Write> = still_signed_in(&claims, app.now().timestamp()).into();
    let forgotten: Vec<String> = match (body.device_id, body.all) {
        (Some(id), None) => {
            commit.push(writes::forget_device(user_id, &id));
            vec![id]
        }
        (None, Some(true)) => {
            let ids: Vec<String> = app.repo.devices(user_id).await?.into_iter().map(|device| device.id).collect();
            commit.extend(ids.iter().map(|id| writes::drop_device(user_id, id)));
            ids
        }
        _ => return Err(ApiError::invalid_request("send deviceId, or all: true")),
    };
    commit.extend(writes::audit(
        user_id,
        &[EventKind::DeviceForgotten],
        app.now().timestamp_millis(),
        &ClientInfo::of(&req),
    ));
    app.repo.commit(commit).await?;
    let current = cookie(&req, DEVICE_COOKIE).as_deref().and_then(DeviceToken::parse).map(|token| token.id());
    let clear = current.filter(|id| forgotten.contains(id)).map(|_| app.config.cookies.clear(DEVICE_COOKIE));
    Ok(with_cookies(no_content(), clear))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use shared::domain::SecondFactor;
    use testkit::{Reply, TestEnv, call, event, unique_email};

    async fn forget(env: &TestEnv, access_token: &str, device_token: Option<&str>, body: Value) -> Reply {
        let mut cookies = vec![format!("access_token={access_token}")];
        cookies.extend(device_token.map(|token| format!("device_token={token}")));
        call(env, handle, event("devices-forget").cookies(&cookies).json(body).request()).await
    }

    #[tokio::test]
    async fn one_device_in_one_call_and_the_cookie_of_this_browser_cleared() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("forget")).await).await;
        let here = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
        let there = env.remember_device(&kit.user, "Safari 18 on iOS").await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let there_id = DeviceToken::parse(&there).unwrap().id();
        env.keys().await;
        env.calls.reset();
        let reply = forget(&env, &session.access_token, Some(&here), json!({ "deviceId": there_id })).await;
        assert_eq!(reply.status(), 204);
        assert_eq!(env.calls.take(), ["DynamoDB.TransactWriteItems"]);
        assert_eq!(reply.cookie("device_token"), None, "another browser was forgotten: this cookie stays");
        assert_eq!(env.app.repo.devices(&kit.user.id).await.unwrap().len(), 1);

        let here_id = DeviceToken::parse(&here).unwrap().id();
        let reply = forget(&env, &session.access_token, Some(&here), json!({ "deviceId": here_id })).await;
        assert_eq!(reply.status(), 204);
        assert_eq!(reply.cookie("device_token").as_deref(), Some(""), "this browser's cookie is cleared");
        assert!(env.app.repo.devices(&kit.user.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn all_devices_at_once() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("all")).await).await;
        let here = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
        env.remember_device(&kit.user, "Safari 18 on iOS").await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        env.clock.advance(chrono::Duration::seconds(1));
        let reply = forget(&env, &session.access_token, Some(&here), json!({ "all": true })).await;
        assert_eq!(reply.status(), 204);
        assert_eq!(reply.cookie("device_token").as_deref(), Some(""));
        assert!(env.app.repo.devices(&kit.user.id).await.unwrap().is_empty());
        let events = env.app.repo.recent_events(&kit.user.id, env.app.now().timestamp(), 1).await.unwrap();
        assert_eq!(events[0].kind, EventKind::DeviceForgotten);
    }

    #[tokio::test]
    async fn unknown_and_other_users_devices_are_404_and_bad_bodies_400() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("mine")).await).await;
        let stranger = env.enroll(&env.register(&unique_email("theirs")).await).await;
        let theirs = env.remember_device(&stranger.user, "Chrome 131 on Windows").await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let before = env.dump().await.len();
        for id in ["nope".to_string(), DeviceToken::parse(&theirs).unwrap().id()] {
            let reply = forget(&env, &session.access_token, None, json!({ "deviceId": id })).await;
            assert_eq!((reply.status(), reply.error().as_str()), (404, "device_not_found"));
        }
        for body in
            [json!({}), json!({ "all": false }), json!({ "all": true, "deviceId": "x" }), json!({ "all": "yes" })]
        {
            let reply = forget(&env, &session.access_token, None, body.clone()).await;
            assert_eq!(reply.error(), "invalid_request", "{body}");
        }
        assert_eq!(env.dump().await.len(), before, "nothing changed");
        assert_eq!(env.app.repo.devices(&stranger.user.id).await.unwrap().len(), 1);
    }
}
