//! `POST /auth/factors/passkey/options`: the creation options for a new
//! passkey (the rules of a first or a further factor apply). The ceremony's
//! state is kept on the profile for five minutes, to be used once.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::crypto::random_id;
use shared::domain::{CEREMONY_TTL_SECS, FactorName};
use shared::flows::factors::{passkey_user_handle, stored_passkeys};
use shared::flows::second_factor::purpose;
use shared::http::{AdminRule, NameBody, authenticate, json_response, optional_json_body};
use shared::store::{CeremonyRecord, writes};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    if caller.user.twofa_enabled() {
        caller.require_aal2()?;
    }
    let body: NameBody = optional_json_body(&req)?;
    let name = body.name.as_deref().map(FactorName::parse).transpose()?;
    let now = app.now().timestamp();
    caller.may_add_factor(now)?;

    let user = &caller.user;
    let (handle, new_handle) = passkey_user_handle(user)?;
    let existing = stored_passkeys(user);
    let started = app.passkeys.start_registration(handle, user.email.as_str(), &existing)?;
    let ceremony_id = random_id();
    let ceremony = CeremonyRecord {
        purpose: purpose::REGISTRATION.into(),
        state: started.state,
        expires_at: now + CEREMONY_TTL_SECS,
        name: name.map(|name| name.as_str().to_string()),
    };
    let write = writes::start_ceremony(user, &ceremony_id, &ceremony, new_handle.as_deref(), now);
    app.repo.commit(vec![write]).await?;
    Ok(json_response(StatusCode::OK, &json!({ "ceremonyId": ceremony_id, "publicKey": started.public_key })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::SecondFactor;
    use testkit::passkey::Behaviour;
    use testkit::{Reply, TestEnv, call, event, unique_email};

    async fn options(env: &TestEnv, access: &str, body: serde_json::Value) -> Reply {
        call(env, handle, event("passkey-options").cookie("access_token", access).json(body).request()).await
    }

    #[tokio::test]
    async fn the_creation_options_ask_for_a_verified_discoverable_passkey_and_exclude_the_users_own() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&unique_email("opts")).await).await;
        let (user, _, _) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        env.keys().await;
        env.calls.reset();
        let reply = options(&env, &session.access_token, json!({ "name": "Phone" })).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        assert_eq!(env.calls.take(), ["DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"]);
        let public_key = &reply.json()["publicKey"];
        assert_eq!(public_key["rp"]["id"], "app.example.com");
        assert_eq!(public_key["attestation"], "none");
        assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(public_key["authenticatorSelection"]["residentKey"], "preferred");
        let algorithms: Vec<i64> =
            public_key["pubKeyCredParams"].as_array().unwrap().iter().map(|p| p["alg"].as_i64().unwrap()).collect();
        assert!(algorithms.contains(&-7) && algorithms.contains(&-257), "ES256 and RS256: {algorithms:?}");
        assert_eq!(public_key["user"]["name"], user.email.as_str());
        let handle = public_key["user"]["id"].as_str().unwrap();
        assert_eq!(Some(handle), user.passkey_user.as_deref(), "the user's own random handle");
        assert!(!handle.contains(&user.id) && !handle.contains("opts"));
        assert_eq!(public_key["excludeCredentials"].as_array().unwrap().len(), 1);
        let id = reply.json()["ceremonyId"].as_str().unwrap().to_string();
        let stored = env.user(&user.id).await;
        assert_eq!(
            (stored.ceremonies[&id].purpose.as_str(), stored.ceremonies[&id].name.as_deref()),
            ("registration", Some("Phone"))
        );
    }

    #[tokio::test]
    async fn at_five_factors_it_is_409_and_without_2fa_it_needs_a_verified_email() {
        let env = TestEnv::new().await;
        let unverified = env.register(&unique_email("unverified")).await;
        let session = env.sign_in(&unverified, None).await;
        let refused = options(&env, &session.access_token, json!({})).await;
        assert_eq!((refused.status(), refused.error()), (403, "email_unverified".into()));
        let kit = env.enroll(&env.register_verified(&unique_email("full")).await).await;
        for _ in 0..4 {
            env.add_passkey(&kit.user, Behaviour::default()).await;
        }
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let full = options(&env, &session.access_token, json!({})).await;
        assert_eq!((full.status(), full.error()), (409, "too_many_factors".into()));
    }
}
