//! `GET /auth/audit`: the caller's own security log, newest first, at most 50.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::MAX_LISTED;
use shared::http::{AdminRule, EventView, authenticate, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let events = app.repo.recent_events(&caller.user.id, app.now().timestamp(), MAX_LISTED).await?;
    let events: Vec<EventView> = events.iter().map(EventView::from).collect();
    Ok(json_response(StatusCode::OK, &json!({ "events": events })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use shared::domain::{ClientInfo, EventKind};
    use shared::store::writes;
    use testkit::{TestEnv, call, event};

    #[tokio::test]
    async fn newest_first_at_most_fifty_with_the_request_source() {
        let env = TestEnv::new().await;
        let user = env.register("log@example.com").await;
        let client = ClientInfo::of(&event("audit").source("198.51.100.9", "Firefox/140").request());
        for _ in 0..55 {
            env.clock.advance(Duration::seconds(1));
            let now = env.app.now().timestamp_millis();
            env.app.repo.commit(writes::audit(&user.id, &[EventKind::LoginFailed], now, &client)).await.unwrap();
        }
        env.clock.advance(Duration::seconds(1));
        let session = env.sign_in(&user, None).await;
        let reply = call(&env, handle, event("audit").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(reply.status(), 200);
        let events = reply.json()["events"].as_array().unwrap().clone();
        assert_eq!(events.len(), 50);
        assert_eq!(
            events[0],
            json!({ "type": "login_failed", "at": "2026-11-25T12:01:05.000Z", "ip": "198.51.100.9", "userAgent": "Firefox/140" })
        );
        let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|pair| pair[0] > pair[1]), "newest first");
    }

    #[tokio::test]
    async fn the_user_agent_is_the_request_header_and_the_ip_the_connection() {
        // `cargo lambda watch` puts its own name in the context; a forwarded-for header is the client's claim.
        let req = event("audit")
            .source("198.51.100.7", "Firefox/140")
            .context_user_agent("cargo-lambda")
            .header("x-forwarded-for", Some("203.0.113.66"))
            .request();
        assert_eq!(
            ClientInfo::of(&req),
            ClientInfo { ip: Some("198.51.100.7".into()), user_agent: Some("Firefox/140".into()) }
        );
    }

    #[tokio::test]
    async fn events_older_than_ninety_days_are_gone_even_before_ttl_deletes_them() {
        let env = TestEnv::new().await;
        let user = env.register("old@example.com").await;
        env.clock.advance(Duration::days(90));
        let session = env.sign_in(&user, None).await;
        let reply = call(&env, handle, event("audit").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(reply.json(), json!({ "events": [] }), "the register event has expired");
        assert_eq!(env.dump().await.iter().filter(|i| i["sk"].as_s().unwrap().starts_with("EVT#")).count(), 1);
    }

    #[tokio::test]
    async fn an_admin_without_2fa_may_read_the_log() {
        let env = TestEnv::new().await;
        let user = env.register("boss@example.com").await;
        env.clock.advance(Duration::seconds(1));
        let admin = env.grant_admin(&user).await;
        let session = env.sign_in(&admin, None).await;
        let reply = call(&env, handle, event("audit").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(reply.status(), 200);
        let kinds: Vec<&str> = reply.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string().leak() as &str)
            .collect();
        assert_eq!(kinds, ["role_granted", "register"]);
    }
}
