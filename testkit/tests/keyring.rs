//! The keyring against moto: racing cold containers agree on one data key.

use shared::App;
use shared::tokens::{self, PRE2FA_TTL_SECS, Pre2faClaims, Registered, TokenKind};
use testkit::TestEnv;

#[tokio::test]
async fn cold_containers_racing_to_create_the_first_key_end_up_with_the_same_one() {
    let env = TestEnv::new().await;
    let containers: Vec<App> = (0..8).map(|_| env.cold_container()).collect();
    let loaded = futures::future::join_all(containers.iter().map(|app| app.keyring.keys())).await;
    let keys: Vec<_> = loaded.into_iter().map(|k| k.expect("keyring loads")).collect();

    assert_eq!(env.app.repo.keyring_items().await.unwrap().0.len(), 1, "exactly one data key was stored");
    let now = env.app.now().timestamp();
    let claims = Pre2faClaims {
        reg: Registered::new(TokenKind::Pre2fa, &env.app.config.issuer, "u", now, PRE2FA_TTL_SECS),
        jti: "n".into(),
        ver: 1,
    };
    let token = tokens::sign(keys[0], &claims);
    for other in &keys {
        assert_eq!(other.current().kid, "k1");
        assert!(tokens::verify::<Pre2faClaims>(other, &token, &env.app.config.issuer, now).is_ok());
    }
}

#[tokio::test]
async fn cold_containers_racing_to_create_the_first_signing_key_sign_with_the_same_one() {
    let env = TestEnv::new().await;
    env.keys().await;
    let containers: Vec<App> = (0..6).map(|_| env.cold_container()).collect();
    let signing = futures::future::join_all(containers.iter().map(|app| app.keyring.signing_keys_to_sign())).await;
    let now = env.app.now().timestamp();
    let kids: Vec<String> = signing.into_iter().map(|s| s.unwrap().signer(now).unwrap().kid().to_string()).collect();
    assert_eq!(kids, vec!["s1"; 6]);
    assert_eq!(env.app.repo.keyring_items().await.unwrap().1.len(), 1, "exactly one signing key was stored");
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
    assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt"]);
}

#[tokio::test]
async fn the_table_holds_the_signing_key_only_sealed() {
    let env = TestEnv::new().await;
    let user = env.register("sealed@example.com").await;
    env.sign_in(&user, None).await;
    let (_, stored) = env.app.repo.keyring_items().await.unwrap();
    let keys = env.keys().await;
    let pkcs8 = keys.open(b"twofa:signing-key:s1", &stored[0].sealed_private_key).expect("the key opens");
    assert!(pkcs8.len() > 1000, "an RSA-2048 PKCS#8 key");
    // The private key's bytes, whole or in part (its second half is the private exponent and primes).
    assert!(!env.table_contains(&pkcs8).await);
    assert!(!env.table_contains(&pkcs8[pkcs8.len() / 2..pkcs8.len() / 2 + 64]).await, "private key bytes stored");
}
