//! A whole signing-key rotation with the clock, as verifiers that cache the
//! key set see it: at every moment, a token issued a moment earlier verifies
//! against any key set fetched up to two hours earlier.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use shared::crypto::DEFAULT_LEAD_SECS;
use shared::flows::operator::{retire_signing_key, rotate_signing_key};
use testkit::{ISSUER_URL, TestEnv, event};

const STEP_SECS: i64 = 5 * 60;
const GATEWAY_CACHE_SECS: i64 = 2 * 60 * 60;

/// Verifies `token` as a verifier holding `key_set` would: by `kid`, RS256,
/// issuer and audience, at the time the token was issued.
fn verifies(key_set: &Value, token: &str) -> bool {
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let Some(jwk) = key_set["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()) else { return false };
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER_URL]);
    validation.set_audience(&["twofa"]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok()
}

#[tokio::test]
async fn no_token_issued_during_a_rotation_fails_a_verifier_with_a_key_set_up_to_two_hours_old() {
    let env = TestEnv::new().await;
    let user = env.register("rotate@example.com").await;
    // The deployment has been signing with its first key for a while.
    env.keys().await;
    // A second container, warmed before the rotation, signs through it with its cached key set.
    let other = env.cold_container();
    other.issuer(&event("me").request()).await.unwrap();
    let mut fetched: Vec<(i64, Value)> = Vec::new();
    let mut kids_seen = Vec::new();
    let start = env.app.now().timestamp();
    let mut rotated = None;
    for step in 0..(8 * 60 * 60 / STEP_SECS) {
        let now = env.app.now().timestamp();
        if step == 6 {
            let rotation = rotate_signing_key(&env.app.keyring, &env.app.repo, env.clock.as_ref(), DEFAULT_LEAD_SECS)
                .await
                .unwrap();
            assert_eq!(rotation.signing_now, "s1");
            rotated = Some(rotation);
        }
        // What GET /.well-known/jwks.json answers at this moment (its handler is this one line).
        let published = env.app.keyring.signing_keys(None).await.unwrap().jwks(now);
        fetched.push((now, serde_json::json!({ "keys": published })));
        for container in [&env.app, &other] {
            let issuer = container.issuer(&event("me").request()).await.unwrap();
            let subject = shared::flows::session::Subject { user_id: &user.id, role: user.role, version: user.version };
            let token = shared::flows::session::NewSession::issue(
                container,
                &issuer,
                subject,
                None,
                (now, now),
                &Default::default(),
            )
            .unwrap()
            .access_token;
            kids_seen.push(jsonwebtoken::decode_header(&token).unwrap().kid.unwrap());
            for (at, key_set) in fetched.iter().filter(|(at, _)| now - at <= GATEWAY_CACHE_SECS) {
                assert!(
                    verifies(key_set, &token),
                    "a token of {}s fails a key set fetched at {}s",
                    now - start,
                    at - start
                );
            }
        }
        env.clock.advance(chrono::Duration::seconds(STEP_SECS));
    }
    let rotation = rotated.unwrap();
    assert!(kids_seen.contains(&"s1".to_string()) && kids_seen.contains(&"s2".to_string()), "the rotation happened");
    assert_eq!(rotation.published, "s2");
    let last = &fetched.last().unwrap().1["keys"];
    assert_eq!(last.as_array().unwrap().len(), 1, "the retired key left the set once its tokens expired: {last}");
    assert_eq!(last[0]["kid"], "s2");
}

#[tokio::test]
async fn one_rotation_at_a_time_and_the_next_one_removes_keys_no_longer_needed() {
    let env = TestEnv::new().await;
    let clock = env.clock.as_ref();
    let first = rotate_signing_key(&env.app.keyring, &env.app.repo, clock, DEFAULT_LEAD_SECS).await.unwrap();
    assert_eq!((first.published.as_str(), first.signing_now.as_str()), ("s2", "s1"));
    let again = rotate_signing_key(&env.app.keyring, &env.app.repo, clock, DEFAULT_LEAD_SECS).await;
    assert!(again.is_err(), "a second rotation while one is under way");
    env.clock.advance(chrono::Duration::hours(3));
    let second = rotate_signing_key(&env.app.keyring, &env.app.repo, clock, DEFAULT_LEAD_SECS).await.unwrap();
    assert_eq!((second.published.as_str(), second.signing_now.as_str()), ("s3", "s2"));
    assert_eq!(second.removed, ["s1"]);
    let stored = env.app.repo.keyring_items().await.unwrap().signing_keys;
    let mut kids: Vec<String> = stored.into_iter().map(|k| k.kid).collect();
    kids.sort();
    assert_eq!(kids, ["s2", "s3"]);
}

#[tokio::test]
async fn a_lead_too_short_for_gateways_to_fetch_the_key_is_refused() {
    let env = TestEnv::new().await;
    let refused = rotate_signing_key(&env.app.keyring, &env.app.repo, env.clock.as_ref(), 299).await;
    assert!(refused.is_err(), "a lead of 299 s");
    assert_eq!(env.app.repo.keyring_items().await.unwrap().signing_keys.len(), 1, "nothing was published");
    assert!(rotate_signing_key(&env.app.keyring, &env.app.repo, env.clock.as_ref(), 300).await.is_ok());
}

#[tokio::test]
async fn a_retired_key_is_refused_at_once_and_its_successor_signs_at_once() {
    let env = TestEnv::new().await;
    let user = env.register("leaked@example.com").await;
    let before = env.sign_in(&user, None).await;
    let container = env.cold_container();
    let request = event("me").request();
    assert!(shared::http::access_claims(&container, &request, &before.access_token).await.is_ok());

    let retired = retire_signing_key(&env.app.keyring, &env.app.repo, env.clock.as_ref(), "s1").await.unwrap();
    assert_eq!((retired.retired.as_str(), retired.successor.as_deref()), ("s1", Some("s2")));
    assert!(retire_signing_key(&env.app.keyring, &env.app.repo, env.clock.as_ref(), "s1").await.is_err(), "twice");

    // Within five minutes every container has dropped it (a fresh one at once).
    env.clock.advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
    assert!(shared::http::access_claims(&container, &request, &before.access_token).await.is_err(), "still trusted");
    let now = env.app.now().timestamp();
    let published: Vec<String> =
        container.keyring.signing_keys(None).await.unwrap().jwks(now).into_iter().map(|jwk| jwk.kid).collect();
    assert_eq!(published, ["s2"]);
    let after = env.sign_in(&user, None).await;
    assert_eq!(jsonwebtoken::decode_header(&after.access_token).unwrap().kid.as_deref(), Some("s2"));
    assert!(shared::http::access_claims(&container, &request, &after.access_token).await.is_ok());
}
