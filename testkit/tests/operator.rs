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
