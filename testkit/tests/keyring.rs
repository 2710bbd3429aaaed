//! The keyring against moto: `authctl init` makes the first keys once, every
//! container uses them, and no function creates any.

use shared::App;
use shared::app::keyring::initialise;
use shared::domain::{PRE2FA_TTL_SECS, Role, TokenKind};
use shared::tokens::{self, Pre2faClaims, Registered};
use testkit::TestEnv;

#[tokio::test]
async fn racing_inits_store_one_key_of_each_kind_and_every_container_uses_them() {
    let env = TestEnv::new().await;
    // TestEnv ran one `init` already; six more race, as a deploy retried in parallel might.
    let table = env.app.repo.clone();
    let runs = (0..6).map(|_| initialise(&env.clients.kms, &table, &env.app.config.kms_key_id, env.clock.clone()));
    for run in futures::future::join_all(runs).await {
        assert!(run.expect("init succeeds").created.is_empty(), "a second init created a key");
    }
    let items = env.app.repo.keyring_items().await.unwrap();
    let counts = (items.data_keys.len(), items.mac_keys.len(), items.signing_keys.len());
    assert_eq!(counts, (1, 1, 1), "one data key, one MAC key, one signing key");

    let containers: Vec<App> = (0..6).map(|_| env.cold_container()).collect();
    let loaded = futures::future::join_all(containers.iter().map(|app| app.keyring.keys())).await;
    let keys: Vec<_> = loaded.into_iter().map(|k| k.expect("keyring loads")).collect();
    let now = env.app.now().timestamp();
    let claims = Pre2faClaims {
        reg: Registered::new(TokenKind::Pre2fa, &env.app.config.issuer, "u", now, PRE2FA_TTL_SECS),
        jti: "n".into(),
        ver: 1,
    };
    let token = tokens::sign(keys[0], &claims);
    for (app, other) in containers.iter().zip(&keys) {
        assert_eq!(other.current().kid, "k1");
        assert!(tokens::verify::<Pre2faClaims>(other, &token, &env.app.config.issuer, now).is_ok());
        assert_eq!(app.keyring.signing_keys_to_sign().await.unwrap().signer(now).unwrap().kid(), "s1");
    }
}

#[tokio::test]
async fn a_function_never_creates_keys_it_refuses_to_work_on_an_empty_keyring() {
    let env = TestEnv::new().await;
    let empty = format!("{}-empty", env.app.config.table_name);
    shared::store::table::create_table(&env.inspect.dynamo, &empty).await.unwrap();
    let config = shared::config::Config { table_name: empty.clone(), ..env.app.config.clone() };
    let app = App::new(config, env.clients.clone(), env.clock.clone());
    env.calls.reset();
    let refused = app.keyring.keys().await.err().expect("no keys without init");
    assert!(refused.to_string().contains("authctl init"), "{refused}");
    assert!(app.issuer(&testkit::event("me").request()).await.is_err());
    assert!(app.keyring.signing_keys_to_sign().await.is_err());
    assert!(!env.calls.take().iter().any(|call| call == "KMS.GenerateDataKey" || call.starts_with("DynamoDB.Put")));
    let scan = env.inspect.dynamo.scan().table_name(&empty).send().await.unwrap();
    assert_eq!(scan.count, 0, "a function wrote to the keyring");
}

#[tokio::test]
async fn the_keyring_is_unwrapped_once_per_container() {
    let env = TestEnv::new().await;
    env.keys().await;
    env.calls.reset();
    env.keys().await;
    assert!(env.calls.take().is_empty(), "a warm container called AWS for its keys");

    let second_container = env.cold_container();
    second_container.keyring.keys().await.unwrap();
    assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt", "KMS.Decrypt"], "the data key and the MAC key");
}

#[tokio::test]
async fn the_table_holds_the_signing_key_only_sealed() {
    let env = TestEnv::new().await;
    let user = env.register("sealed@example.com").await;
    env.sign_in(&user, None).await;
    let stored = env.app.repo.keyring_items().await.unwrap().signing_keys;
    let keys = env.keys().await;
    let pkcs8 = keys.open(b"twofa:signing-key:s1", &stored[0].sealed_private_key).expect("the key opens");
    assert!(pkcs8.len() > 1000, "an RSA-2048 PKCS#8 key");
    // The private key's bytes, whole or in part (its second half is the private exponent and primes).
    assert!(!env.table_contains(&pkcs8).await);
    assert!(!env.table_contains(&pkcs8[pkcs8.len() / 2..pkcs8.len() / 2 + 64]).await, "private key bytes stored");
}

#[tokio::test]
async fn a_signing_key_planted_in_the_table_is_neither_trusted_nor_published() {
    use shared::crypto::{DataKey, KeySet, SigningKeyMac, SigningKeys, StoredSigningKey};
    let env = TestEnv::new().await;
    let user = env.register("planted@example.com").await;
    let session = env.sign_in(&user, None).await;
    let now = env.app.now().timestamp();
    // What the review's attacker writes with a role that may put KEYRING items:
    // a key of their own, tagged with a MAC key they made up (or with none).
    let attacker_keys = KeySet::new(vec![DataKey::derive("k1", &[9u8; 32])]).unwrap();
    let attacker_mac = SigningKeyMac::new("m1", &[9u8; 32]).unwrap();
    let planted = StoredSigningKey::generate(&attacker_keys, &attacker_mac, "s900", 0, 0).unwrap();
    assert!(env.app.repo.add_signing_key(&planted).await.unwrap());
    let untagged = StoredSigningKey { kid: "s901".into(), mac: String::new(), ..planted.clone() };
    assert!(env.app.repo.add_signing_key(&untagged).await.unwrap());
    let forged_issuer = shared::app::Issuer {
        keys: &attacker_keys,
        signing: std::sync::Arc::new(SigningKeys::new(vec![planted], &attacker_mac).unwrap()),
        url: testkit::ISSUER_URL.to_string(),
    };
    let forged =
        shared::flows::session::access_token(&env.app, &forged_issuer, &session.record, Role::Admin, user.version, now)
            .unwrap();

    let container = env.cold_container();
    let request = testkit::event("me").request();
    assert!(shared::http::access_claims(&container, &request, &forged).await.is_err(), "a planted key was trusted");
    assert!(shared::http::access_claims(&container, &request, &session.access_token).await.is_ok());
    let published: Vec<String> =
        container.keyring.signing_keys(None).await.unwrap().jwks(now).into_iter().map(|jwk| jwk.kid).collect();
    assert_eq!(published, ["s1"], "the JWKS would publish a planted key");
}
