//! The operator's commands against moto.

use shared::domain::{Email, EventKind, Role};
use shared::flows::operator::{Command, Outcome, run};
use testkit::TestEnv;

async fn operate(env: &TestEnv, command: Command, email: &str) -> Outcome {
    run(&env.app.repo, &env.app.mailer, env.clock.as_ref(), command, &Email::parse(email).unwrap()).await.unwrap()
}

#[tokio::test]
async fn the_admin_role_goes_only_to_a_verified_address() {
    let env = TestEnv::new().await;
    let squatter = env.register("ops@example.com").await;
    let refused = operate(&env, Command::GrantAdmin, "ops@example.com").await;
    assert_eq!(refused, Outcome::EmailUnverified { user_id: squatter.id.clone() });
    let unchanged = env.user(&squatter.id).await;
    assert_eq!((unchanged.role, unchanged.version), (Role::User, squatter.version));
}

#[tokio::test]
async fn granting_and_revoking_admin_ends_sessions_and_is_logged_without_ip() {
    let env = TestEnv::new().await;
    let user = env.register_verified("op@example.com").await;
    env.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(operate(&env, Command::GrantAdmin, "OP@example.com").await, Outcome::Done { user_id: user.id.clone() });
    let admin = env.user(&user.id).await;
    assert_eq!((admin.role, admin.version), (Role::Admin, user.version + 1));
    let email = Email::parse("op@example.com").unwrap();
    let login = env.app.repo.reserve_password_attempt(&email, env.app.now().timestamp()).await.unwrap();
    let mirrored = login.account.unwrap();
    assert_eq!((mirrored.role, mirrored.version), (Role::Admin, admin.version), "the login copy follows");

    assert_eq!(
        operate(&env, Command::GrantAdmin, "op@example.com").await,
        Outcome::AlreadySo { user_id: user.id.clone() }
    );
    env.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(operate(&env, Command::RevokeAdmin, "op@example.com").await, Outcome::Done { user_id: user.id.clone() });
    assert_eq!(env.user(&user.id).await.role, Role::User);

    let events = env.app.repo.recent_events(&user.id, env.app.now().timestamp(), 50).await.unwrap();
    assert_eq!(events[0].kind, EventKind::RoleRevoked);
    assert_eq!(events[1].kind, EventKind::RoleGranted);
    assert_eq!((events[0].ip.as_deref(), events[0].user_agent.as_deref()), (None, None));
}

#[tokio::test]
async fn reset_2fa_turns_it_off_and_clears_a_code_lockout() {
    let env = TestEnv::new().await;
    let enrolled = env.enroll(&env.register("lost@example.com").await).await;
    for _ in 0..5 {
        env.app
            .repo
            .reserve_code_attempt(&enrolled.user.id, enrolled.user.version, None, env.app.now().timestamp())
            .await
            .unwrap();
    }
    let locked = env
        .app
        .repo
        .reserve_code_attempt(&enrolled.user.id, enrolled.user.version, None, env.app.now().timestamp())
        .await;
    assert!(matches!(locked, Err(shared::ApiError::TooManyAttempts { .. })));

    env.clock.advance(chrono::Duration::seconds(1));
    assert!(matches!(operate(&env, Command::ResetTwofa, "lost@example.com").await, Outcome::Done { .. }));
    let reset = env.user(&enrolled.user.id).await;
    assert!(!reset.twofa_enabled() && reset.factors.is_empty());
    assert_eq!(reset.code_attempts, 0);
    assert_eq!(reset.version, enrolled.user.version + 1);
    let events = env.app.repo.recent_events(&reset.id, env.app.now().timestamp(), 50).await.unwrap();
    assert_eq!(events[0].kind, EventKind::TwofaReset);
}

#[tokio::test]
async fn an_unknown_email_changes_nothing() {
    let env = TestEnv::new().await;
    assert_eq!(operate(&env, Command::ResetTwofa, "ghost@example.com").await, Outcome::NoSuchUser);
    assert!(env.dump().await.is_empty());
}

#[tokio::test]
async fn reset_2fa_mails_the_user_a_notice_from_the_operator() {
    let env = TestEnv::new().await;
    let address = testkit::unique_email("notice-reset");
    env.enroll(&env.register(&address).await).await;
    operate(&env, Command::ResetTwofa, &address).await;
    let client = shared::domain::ClientInfo::default();
    let notice =
        testkit::one_notice(&address, "Two-factor authentication was reset", env.app.now(), &client, &[]).await;
    assert!(notice.body.contains("From</th><td>an operator of the service"), "{}", notice.body);
}

/// A profile as v2 wrote it for a user with 2FA on: one app as `totpSecret`
/// and `lastStep`, no `factors` map.
async fn v2_profile(env: &TestEnv, email: &str) -> (shared::store::UserRecord, Vec<u8>) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    let user = env.register_verified(email).await;
    let secret = shared::factors::totp::TotpSecret::generate();
    let sealed = env.keys().await.seal_totp_secret(&user.id, secret.bytes());
    env.clients
        .dynamo
        .update_item()
        .table_name(env.app.repo.table())
        .key("pk", V::S(format!("USER#{}", user.id)))
        .key("sk", V::S("PROFILE".into()))
        .update_expression("SET totpSecret = :s, lastStep = :step, enabledAt = :at, twofaEnabled = :on REMOVE factors")
        .expression_attribute_values(":s", V::B(sealed.clone().into()))
        .expression_attribute_values(":step", V::N("59000000".into()))
        .expression_attribute_values(":at", V::N("1770000000".into()))
        .expression_attribute_values(":on", V::Bool(true))
        .send()
        .await
        .unwrap();
    (user, sealed)
}

#[tokio::test]
async fn migrate_factors_moves_a_v2_app_into_the_factors_map_once() {
    let env = TestEnv::new().await;
    let (user, sealed) = v2_profile(&env, "v2@example.com").await;
    let plain = env.register_verified("v3@example.com").await;
    assert!(env.app.repo.user(&user.id).await.is_err(), "v3 refuses to guess at a v2 profile");

    let now = env.app.now().timestamp();
    let migrated = env.app.repo.migrate_factors(now).await.unwrap();
    assert_eq!(migrated, shared::store::Migrated { moved: 1, skipped: 0 });
    let moved = env.user(&user.id).await;
    assert_eq!(moved.factors.len(), 1);
    let factor = &moved.factors[0];
    assert_eq!((factor.name.as_str(), factor.created_at), ("Authenticator app", 1_770_000_000));
    let shared::store::FactorSecret::Totp { sealed_secret, last_step } = &factor.secret else { panic!("an app") };
    assert_eq!((sealed_secret, *last_step), (&sealed, Some(59_000_000)), "the same secret and last step");
    assert!(moved.twofa_enabled() && moved.version == user.version, "2FA stays on, sessions stay");
    assert!(env.keys().await.open_totp_secret(&user.id, sealed_secret).is_ok(), "it still opens");
    assert!(env.user(&plain.id).await.factors.is_empty(), "a profile without an app is left alone");

    let again = env.app.repo.migrate_factors(now).await.unwrap();
    assert_eq!(again, shared::store::Migrated::default(), "nothing left to move");
    let after = env.user(&user.id).await;
    assert_eq!((after.factors.len(), &after.factors[0].id), (1, &factor.id), "the same one factor");
}
