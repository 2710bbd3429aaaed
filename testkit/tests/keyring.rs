//! The keyring against moto: racing cold containers agree on one data key.

use shared::App;
use shared::domain::{Aal, Role};
use shared::tokens::{self, ACCESS_TTL_SECS, AccessClaims, Registered, TokenKind};
use testkit::TestEnv;

#[tokio::test]
async fn cold_containers_racing_to_create_the_first_key_end_up_with_the_same_one() {
    let env = TestEnv::new().await;
    let containers: Vec<App> = (0..8).map(|_| env.cold_container()).collect();
    let loaded = futures::future::join_all(containers.iter().map(|app| app.keyring.keys())).await;
    let keys: Vec<_> = loaded.into_iter().map(|k| k.expect("keyring loads")).collect();

    assert_eq!(env.app.repo.keyring_entries().await.unwrap().len(), 1, "exactly one data key was stored");
    let now = env.app.now().timestamp();
    let claims = AccessClaims {
        reg: Registered::new(TokenKind::Access, &env.app.config.issuer, "u", now, ACCESS_TTL_SECS),
        sid: "s".into(),
        role: Role::User,
        aal: Aal::One,
        amr: vec!["pwd".into()],
        auth_time: now,
        ver: 1,
        jti: "a".into(),
    };
    let token = tokens::sign(keys[0], &claims);
    for other in &keys {
        assert_eq!(other.current().kid, "k1");
        assert!(tokens::verify::<AccessClaims>(other, &token, &env.app.config.issuer, now).is_ok());
    }
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
