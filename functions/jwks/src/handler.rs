//! `GET /.well-known/jwks.json`: the public keys that verify access tokens,
//! for any service (API Gateway's JWT authorizer, a JOSE library). Public
//! parts only; a retired key stays until its last token has expired.

use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::public_json_response;
use shared::{ApiError, App};

pub async fn handle(app: &App, _req: Request) -> Result<Response<Body>, ApiError> {
    let signing = app.keyring.signing_keys(None).await?;
    Ok(public_json_response(&json!({ "keys": signing.jwks(app.now().timestamp()) })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{TestEnv, call, event};

    #[tokio::test]
    async fn the_key_set_holds_the_signing_key_public_parts_only_cacheable_in_one_query() {
        let env = TestEnv::new().await;
        let user = env.register("jwks@example.com").await;
        let session = env.sign_in(&user, None).await;
        let cold = env.cold_container();
        env.calls.reset();
        let reply = call(&cold, handle, event("jwks").request()).await;
        assert_eq!(reply.status(), 200);
        // The MAC key authenticates the stored public parts; no data key, nothing private is opened.
        assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt"]);
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
        let keys = reply.json()["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1);
        let key = keys[0].as_object().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(!key.contains_key(private), "{private} published");
        }
        assert_eq!(
            (key["kty"].as_str(), key["use"].as_str(), key["alg"].as_str()),
            (Some("RSA"), Some("sig"), Some("RS256"))
        );
        let header = jsonwebtoken::decode_header(&session.access_token).unwrap();
        assert_eq!(header.kid.as_deref(), key["kid"].as_str());
    }
}
