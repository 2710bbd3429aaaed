//! `POST /auth/passkey/options`: the request options for signing in with a
//! passkey alone. No account is named (the browser offers the user's
//! discoverable passkeys) and nothing is written: the ceremony's state, its
//! purpose and its five-minute expiry travel sealed in its id, so that an
//! anonymous flood of options cannot fill the table. `passkey/login` makes
//! the id single use.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::CEREMONY_TTL_SECS;
use shared::factors::passkey::SIGN_IN;
use shared::http::json_response;
use shared::{ApiError, App};

pub async fn handle(app: &App, _req: Request) -> Result<Response<Body>, ApiError> {
    let keys = app.keyring.keys().await?;
    let started = app.passkeys.start_sign_in()?;
    let ceremony_id = keys.seal_ceremony(SIGN_IN, &started.state, app.now().timestamp() + CEREMONY_TTL_SECS);
    Ok(json_response(StatusCode::OK, &json!({ "ceremonyId": ceremony_id, "publicKey": started.public_key })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    use chrono::Duration;
    use testkit::proxy::Fault;
    use testkit::{Reply, TestEnv, call, event, timed};

    async fn options(app: &impl AsRef<App>) -> Reply {
        call(app, handle, event("passkey-signin-options").request()).await
    }

    #[tokio::test]
    async fn the_options_name_no_account_and_the_ceremony_id_carries_its_state_for_five_minutes() {
        let env = TestEnv::new().await;
        let reply = options(&env).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        let public_key = &reply.json()["publicKey"];
        assert_eq!(public_key["rpId"], "app.example.com");
        assert_eq!(public_key["userVerification"], "required");
        assert!(public_key.get("allowCredentials").is_none(), "no credential is named: {public_key}");
        assert!(public_key["challenge"].as_str().is_some_and(|c| c.len() == 43), "32 bytes, base64url");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
        let id = reply.json()["ceremonyId"].as_str().unwrap().to_string();
        let keys = env.keys().await;
        let opened = keys.open_ceremony(SIGN_IN, &id, env.app.now().timestamp()).expect("a sign-in ceremony");
        assert_eq!(opened.expires_at, env.app.now().timestamp() + 300);
        assert!(opened.state.contains(public_key["challenge"].as_str().unwrap()), "the state holds the challenge");
        assert!(keys.open_ceremony("verify-login", &id, env.app.now().timestamp()).is_err(), "of its purpose only");
        env.clock.advance(Duration::minutes(5));
        assert!(keys.open_ceremony(SIGN_IN, &id, env.app.now().timestamp()).is_err(), "expired after 5 minutes");
    }

    #[tokio::test]
    async fn a_hundred_anonymous_options_write_nothing_and_call_aws_only_to_load_the_keyring() {
        let env = TestEnv::new().await;
        let first = options(&env).await;
        assert_eq!(first.status(), 200);
        assert_eq!(
            env.calls.take(),
            ["DynamoDB.Query", "KMS.Decrypt", "KMS.Decrypt"],
            "a cold container loads its keyring"
        );
        let mut ids = HashSet::new();
        for _ in 0..100 {
            let reply = options(&env).await;
            assert_eq!(reply.status(), 200);
            ids.insert(reply.json()["ceremonyId"].as_str().unwrap().to_string());
        }
        assert_eq!(env.calls.take(), Vec::<String>::new(), "no AWS call once the keyring is loaded");
        assert_eq!(ids.len(), 100, "every ceremony its own");
        assert_eq!(env.dump().await, Vec::new(), "the table holds nothing");
    }

    #[tokio::test]
    async fn a_body_is_ignored_and_a_foreign_origin_is_refused() {
        let env = TestEnv::new().await;
        let junk = event("passkey-signin-options").header("content-type", Some("text/plain")).raw_body("{{{");
        assert_eq!(call(&env, handle, junk.request()).await.status(), 200);
        let foreign = event("passkey-signin-options").header("origin", Some("https://evil.example"));
        let reply = call(&env, handle, foreign.request()).await;
        assert_eq!((reply.status(), reply.error()), (403, "forbidden_origin".into()));
    }

    #[tokio::test]
    async fn a_cold_container_that_cannot_load_its_keys_answers_503() {
        for fault in [Fault::Refuse, Fault::Stall] {
            let (proxy, env) = testkit::behind_proxy().await;
            proxy.set(fault);
            let reply = timed(&format!("passkey options, {fault:?}"), options(&env)).await;
            assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
            proxy.set(Fault::None);
            assert_eq!(options(&env).await.status(), 200, "once AWS is back");
            assert_eq!(env.dump().await, Vec::new());
        }
    }
}
