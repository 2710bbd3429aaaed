//! `GET /auth/devices`: the user's remembered browsers, most recently used
//! first, the one whose cookie came with the request marked. One read.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::crypto::DeviceToken;
use shared::http::{AdminRule, DEVICE_COOKIE, DeviceView, authenticate_with_overview, cookie, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let (caller, overview) = authenticate_with_overview(app, &req, AdminRule::RequiresTwofa).await?;
    let now = app.now().timestamp();
    let current = cookie(&req, DEVICE_COOKIE).as_deref().and_then(DeviceToken::parse).map(|token| token.id());
    // A device remembered under an older token version is forgotten: it no longer skips anything.
    let mut live: Vec<_> = overview.devices.iter().filter(|d| d.live_for(caller.user.version, now)).collect();
    live.sort_by_key(|device| std::cmp::Reverse(device.last_used_at));
    let devices: Vec<DeviceView> = live.into_iter().map(|device| DeviceView::of(device, current.as_deref())).collect();
    Ok(json_response(StatusCode::OK, &json!({ "devices": devices })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::SignIn;
    use shared::store::writes;
    use testkit::{TestEnv, call, event, unique_email};

    #[tokio::test]
    async fn live_devices_with_this_browser_marked_in_one_read() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("devices")).await).await;
        let laptop = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
        env.clock.advance(chrono::Duration::seconds(5));
        env.remember_device(&kit.user, "Safari 18 on iOS").await;
        let session = env.sign_in(&kit.user, SignIn::RememberedDevice).await;
        env.keys().await;
        env.calls.reset();
        let cookies = [format!("access_token={}", session.access_token), format!("device_token={laptop}")];
        let req = event("devices-list").cookies(&cookies);
        let reply = call(&env, handle, req.request()).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.Query"]);
        let devices = reply.json()["devices"].as_array().unwrap().clone();
        let seen: Vec<(&str, bool)> =
            devices.iter().map(|d| (d["device"].as_str().unwrap(), d["current"].as_bool().unwrap())).collect();
        assert_eq!(seen, [("Safari 18 on iOS", false), ("Firefox 140 on Linux", true)]);
        assert_eq!(devices[1]["ip"], "198.51.100.9");
        assert_eq!(devices[1]["id"].as_str().unwrap().len(), 64);
    }

    #[tokio::test]
    async fn a_version_bump_forgets_every_device() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&unique_email("bump")).await).await;
        env.remember_device(&kit.user, "Firefox 140 on Linux").await;
        env.app.repo.commit(writes::bump_version(&env.user(&kit.user.id).await).into()).await.unwrap();
        let session = env.sign_in(&env.user(&kit.user.id).await, None).await;
        let req = event("devices-list").cookie("access_token", &session.access_token).request();
        assert_eq!(call(&env, handle, req).await.json()["devices"], serde_json::json!([]));
    }
}
