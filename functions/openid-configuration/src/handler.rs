//! `GET /.well-known/openid-configuration`: where verifiers find the key set.
//! The issuer equals every access token's `iss`.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::public_json_response;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let issuer = app.issuer_url(&req)?;
    Ok(public_json_response(&json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        // Access tokens come from this service's own sign-in routes, not an
        // OAuth authorization endpoint; verifiers read the issuer and the keys.
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["aal1", "aal2"],
        "claims_supported": ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "role", "aal", "amr", "auth_time", "ver", "scope"],
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{ISSUER_URL, TestEnv, call, event};

    #[tokio::test]
    async fn discovery_names_the_issuer_of_the_tokens_and_the_key_set() {
        let env = TestEnv::new().await;
        let reply = call(&env, handle, event("openid-configuration").request()).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
        let body = reply.json();
        assert_eq!(body["issuer"], ISSUER_URL);
        assert_eq!(body["jwks_uri"], format!("{ISSUER_URL}/.well-known/jwks.json"));
        assert_eq!(body["id_token_signing_alg_values_supported"], json!(["RS256"]));
        assert_eq!(body["scopes_supported"], json!(["aal1", "aal2"]));
        let user = env.register("disco@example.com").await;
        let token = env.sign_in(&user, None).await.access_token;
        assert_eq!(env.access_claims(&token).await.reg.iss, body["issuer"].as_str().unwrap());
    }

    #[tokio::test]
    async fn without_issuer_url_the_issuer_is_the_apis_own_domain() {
        let mut env = TestEnv::new().await;
        env.app.config.issuer_url = None;
        let reply = call(&env, handle, event("openid-configuration").request()).await;
        assert_eq!(reply.json()["issuer"], "https://abc123defg.execute-api.us-east-1.amazonaws.com");
    }
}
