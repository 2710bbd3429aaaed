//! `GET /auth/factors`: the user's second factors, oldest first, and how many
//! backup codes are left. One read.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{AdminRule, FactorView, authenticate, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let user = &caller.user;
    let factors: Vec<FactorView> = user.factors.iter().map(FactorView::from).collect();
    let remaining = user.twofa_enabled().then_some(user.backup_hashes.len());
    Ok(json_response(StatusCode::OK, &json!({ "factors": factors, "backupCodesRemaining": remaining })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::passkey::Behaviour;
    use testkit::{TestEnv, call, event, unique_email};

    #[tokio::test]
    async fn every_factor_oldest_first_in_one_read() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&unique_email("list")).await).await;
        env.clock.advance(chrono::Duration::seconds(5));
        env.add_passkey(&kit.user, Behaviour { synced: true, ..Default::default() }).await;
        let session = env.sign_in(&kit.user, None).await;
        env.calls.reset();
        let reply =
            call(&env, handle, event("factors-list").cookie("access_token", &session.access_token).request()).await;
        // A cold container also reads the published keys once; then one read per request.
        assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt", "DynamoDB.BatchGetItem"]);
        let body = reply.json();
        assert_eq!(body["backupCodesRemaining"], 10);
        let factors = body["factors"].as_array().unwrap();
        assert_eq!(factors.len(), 2);
        assert_eq!(
            (factors[0]["type"].clone(), factors[0]["name"].clone()),
            (json!("totp"), json!("Authenticator app"))
        );
        assert!(factors[0].get("synced").is_none());
        assert_eq!((factors[1]["type"].clone(), factors[1]["synced"].clone()), (json!("passkey"), json!(true)));
        assert_eq!(factors[1]["lastUsedAt"], serde_json::Value::Null);
        assert!(factors[1]["createdAt"].as_str().unwrap().ends_with('Z'));
        let none = env.sign_in(&env.register(&unique_email("none")).await, None).await;
        let empty =
            call(&env, handle, event("factors-list").cookie("access_token", &none.access_token).request()).await;
        assert_eq!(empty.json(), json!({ "factors": [], "backupCodesRemaining": null }));
    }

    #[tokio::test]
    async fn factors_added_within_one_second_are_still_listed_oldest_first() {
        let env = TestEnv::new().await;
        env.clock.set(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        let kit = env.enroll(&env.register_verified(&unique_email("same-second")).await).await;
        let mut added = vec![kit.factor_id.clone()];
        for _ in 0..4 {
            env.clock.advance(chrono::Duration::milliseconds(150));
            added.push(env.add_passkey(&kit.user, Behaviour::default()).await.2);
        }
        let session = env.sign_in(&kit.user, None).await;
        let reply =
            call(&env, handle, event("factors-list").cookie("access_token", &session.access_token).request()).await;
        let factors = reply.json()["factors"].as_array().unwrap().clone();
        let listed: Vec<&str> = factors.iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert_eq!(listed, added, "in the order they were added");
        assert!(factors.iter().all(|f| f["createdAt"] == "2027-01-15T08:00:00Z"), "all in one second");
    }
}
