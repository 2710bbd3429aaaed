//! `POST /auth/2fa/disable`: turn 2FA off, with a current code, a backup
//! code or a passkey as proof. Every factor goes (the passkeys' credential
//! ids become free), and the backup codes; every other session ends; admins
//! cannot turn it off.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, Role};
use shared::factors::passkey::credential_key;
use shared::flows::second_factor::{prove, purpose};
use shared::flows::session::{NewSession, Subject};
use shared::http::{AdminRule, SecondFactorBody, authenticate, json_body, json_response, with_cookies};
use shared::store::Write;
use shared::store::writes::{self, Proof};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    if caller.user.role == Role::Admin {
        return Err(ApiError::MfaRequired);
    }
    let typed = json_body::<SecondFactorBody>(&req)?.into_code()?;
    if !caller.user.twofa_enabled() {
        return Err(ApiError::TwofaNotEnabled);
    }

    let client = ClientInfo::of(&req);
    let issuer = app.issuer(&req).await?;
    let (user, proven) = prove(app, issuer.keys, &caller.user, &typed, purpose::ACCOUNT, &client).await?;
    let now = app.now();

    let events: &[EventKind] = match proven.proof {
        Proof::BackupHash(_) => &[EventKind::BackupCodeUsed, EventKind::TwofaDisabled],
        _ => &[EventKind::TwofaDisabled],
    };
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version + 1 };
    let session = NewSession::issue(app, &issuer, subject, None, (now.timestamp(), now.timestamp()), &client)?;
    let mut commit: Vec<Write> = writes::turn_off(&user, Some(&proven.proof), credential_key);
    commit.push(session.write());
    commit.extend(writes::audit(&user.id, events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    let backup_codes_left = Some(user.backup_hashes.len().saturating_sub(1));
    app.mailer.notify(&user.email, events, now.timestamp_millis(), &client, backup_codes_left).await;

    tracing::info!(user_id = user.id, "2FA disabled");
    Ok(with_cookies(json_response(StatusCode::OK, &json!({ "message": "2FA disabled" })), session.cookies(app)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::{Value, json};
    use shared::domain::SecondFactor;
    use testkit::proxy::Fault;
    use testkit::{Reply, TestEnv, call, event, timed};

    async fn disable(env: &TestEnv, access: &str, body: Value) -> Reply {
        call(env, handle, event("twofa-disable").cookie("access_token", access).json(body).request()).await
    }

    #[tokio::test]
    async fn a_current_code_turns_2fa_off_and_ends_other_sessions() {
        let env = TestEnv::new().await;
        let ann = env.enroll(&env.register("ann@example.com").await).await;
        let mine = env.sign_in(&ann.user, Some(SecondFactor::Totp)).await;
        let other = env.sign_in(&ann.user, Some(SecondFactor::Totp)).await;
        let reply = disable(&env, &mine.access_token, json!({ "code": env.code(&ann.secret) })).await;
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.json(), json!({ "message": "2FA disabled" }));

        let stored = env.user(&ann.user.id).await;
        assert!(!stored.twofa_enabled() && stored.factors.is_empty() && stored.backup_hashes.is_empty());
        assert_eq!(stored.version, ann.user.version + 1);
        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!(
            (claims.aal, claims.amr.as_slice(), claims.ver),
            (shared::domain::Aal::One, ["pwd".to_string()].as_slice(), stored.version)
        );
        let stale = disable(&env, &other.access_token, json!({ "code": env.code(&ann.secret) })).await;
        assert_eq!(stale.status(), 401);
    }

    #[tokio::test]
    async fn a_backup_code_is_proof_too_and_both_events_are_logged() {
        let env = TestEnv::new().await;
        let bo = env.enroll(&env.register("bo@example.com").await).await;
        let session = env.sign_in(&bo.user, Some(SecondFactor::Totp)).await;
        env.clock.advance(Duration::seconds(1));
        let reply = disable(&env, &session.access_token, json!({ "backupCode": bo.backup_codes[2] })).await;
        assert_eq!(reply.status(), 200);
        let events = env.app.repo.recent_events(&bo.user.id, env.app.now().timestamp(), 50).await.unwrap();
        let kinds: Vec<_> = events.iter().take(2).map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::TwofaDisabled, EventKind::BackupCodeUsed]);
    }

    #[tokio::test]
    async fn no_proof_or_a_wrong_one_is_refused() {
        let env = TestEnv::new().await;
        let cy = env.enroll(&env.register("cy@example.com").await).await;
        let session = env.sign_in(&cy.user, Some(SecondFactor::Totp)).await;
        for body in [json!({}), json!({ "code": "123456", "backupCode": "aaaaa-aaaaa" })] {
            assert_eq!(disable(&env, &session.access_token, body).await.error(), "invalid_request");
        }
        let wrong = format!("{:06}", (env.code(&cy.secret).parse::<u32>().unwrap() + 7) % 1_000_000);
        let reply = disable(&env, &session.access_token, json!({ "code": wrong })).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_code".into()));
        assert!(env.user(&cy.user.id).await.twofa_enabled());
        let reused = disable(
            &env,
            &session.access_token,
            json!({ "code": shared::factors::totp::code_at(&cy.secret, env.unix_now() - 60) }),
        )
        .await;
        assert_eq!(reused.error(), "invalid_code", "the last accepted step cannot be reused");
    }

    #[tokio::test]
    async fn without_2fa_it_is_409() {
        let env = TestEnv::new().await;
        let user = env.register("dot@example.com").await;
        let session = env.sign_in(&user, None).await;
        let reply = disable(&env, &session.access_token, json!({ "code": "123456" })).await;
        assert_eq!((reply.status(), reply.error()), (409, "twofa_not_enabled".into()));
    }

    #[tokio::test]
    async fn a_wrong_code_counts_toward_the_shared_limit() {
        let env = TestEnv::new().await;
        let ed = env.enroll(&env.register("ed@example.com").await).await;
        let session = env.sign_in(&ed.user, Some(SecondFactor::Totp)).await;
        for _ in 0..5 {
            disable(&env, &session.access_token, json!({ "backupCode": "aaaaa-aaaaa" })).await;
        }
        let locked = disable(&env, &session.access_token, json!({ "code": env.code(&ed.secret) })).await;
        assert_eq!((locked.status(), locked.error()), (429, "too_many_attempts".into()));
        env.clock.advance(Duration::minutes(15));
        let later = env.sign_in(&ed.user, Some(SecondFactor::Totp)).await;
        assert_eq!(disable(&env, &later.access_token, json!({ "code": env.code(&ed.secret) })).await.status(), 200);
    }

    #[tokio::test]
    async fn dynamodb_failing_at_the_commit_leaves_2fa_on() {
        let (proxy, env) = testkit::behind_proxy().await;
        let fe = env.enroll(&env.register("fe@example.com").await).await;
        let session = env.sign_in(&fe.user, Some(SecondFactor::Totp)).await;
        proxy.fail_after(2, Fault::Stall);
        let reply = timed(
            "disable, commit stalled",
            disable(&env, &session.access_token, json!({ "backupCode": fe.backup_codes[0] })),
        )
        .await;
        assert_eq!(reply.status(), 503);
        proxy.set(Fault::None);
        let stored = env.user(&fe.user.id).await;
        assert_eq!((stored.twofa_enabled(), stored.backup_hashes.len()), (true, 10), "2FA on, no code used up");
        assert_eq!(
            disable(&env, &session.access_token, json!({ "backupCode": fe.backup_codes[0] })).await.status(),
            200
        );
    }

    #[tokio::test]
    async fn a_backup_code_turning_2fa_off_mails_both_notices() {
        let env = TestEnv::new().await;
        let address = testkit::unique_email("notice-off");
        let kit = env.enroll(&env.register(&address).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let reply = disable(&env, &session.access_token, json!({ "backupCode": kit.backup_codes[0] })).await;
        assert_eq!(reply.status(), 200);
        let client = ClientInfo::of(&event("twofa-disable").request());
        let secrets = [kit.backup_codes[0].as_str(), session.access_token.as_str()];
        let used = testkit::one_notice(&address, "A backup code was used", env.app.now(), &client, &secrets).await;
        assert!(used.body.contains("9 backup codes left."));
        testkit::one_notice(&address, "Two-factor authentication is off", env.app.now(), &client, &secrets).await;
    }

    #[tokio::test]
    async fn a_passkey_is_proof_and_every_factor_goes_its_credential_id_free_again() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&testkit::unique_email("off-pk")).await).await;
        let (user, mut soft, _) = env.add_passkey(&kit.user, testkit::passkey::Behaviour::default()).await;
        let session = env.sign_in(&user, Some(SecondFactor::Passkey { synced: false })).await;
        let (ceremony, options) = env.passkey_challenge(&user, "account").await;
        let proof = testkit::passkey_proof(&mut soft, &ceremony, &options, testkit::passkey::Tamper::default());
        let reply = disable(&env, &session.access_token, json!({ "passkey": proof })).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        let stored = env.user(&user.id).await;
        assert!(stored.factors.is_empty() && stored.backup_hashes.is_empty() && !stored.twofa_enabled());
        assert!(!env.dump().await.iter().any(|item| item["pk"].as_s().unwrap().starts_with("CRED#")), "id still taken");
    }
}
