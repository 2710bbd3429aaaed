//! `POST /auth/password/reset`: a new password with the reset link's token,
//! and, when the account has 2FA on, a code, a backup code or a passkey
//! (its ceremony from `2fa/challenge` with the reset token): a reset never
//! goes around the second factor. Every session ends; none is opened.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, Password, TypedCode};
use shared::factors::password;
use shared::flows::second_factor::{prove, purpose};
use shared::http::{PasskeyProof, json_body, json_response};
use shared::mail::MailToken;
use shared::store::Write;
use shared::store::writes::{self, Proof};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: String,
    password: SecretString,
    code: Option<String>,
    #[serde(rename = "backupCode")]
    backup_code: Option<String>,
    passkey: Option<PasskeyProof>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let body: ResetBody = json_body(&req)?;
    let second_factor = match (body.code, body.backup_code, body.passkey) {
        (None, None, None) => None,
        (Some(code), None, None) => Some(TypedCode::Totp { code, factor_id: None }),
        (None, Some(code), None) => Some(TypedCode::Backup(code)),
        (None, None, Some(passkey)) => {
            Some(TypedCode::Passkey { ceremony_id: passkey.ceremony_id, credential: passkey.credential })
        }
        _ => return Err(ApiError::invalid_request("send at most one of code, backupCode and passkey")),
    };
    let password = Password::parse(body.password)?;
    let token = MailToken::parse(&body.token)?;

    let now = app.now();
    let user = app.repo.user(token.user_id()).await?.ok_or(ApiError::InvalidToken)?;
    let token_hash = token.hash();
    if !user.reset_token.as_ref().is_some_and(|stored| stored.accepts(&token_hash, now.timestamp())) {
        return Err(ApiError::InvalidToken);
    }
    let client = ClientInfo::of(&req);
    let (user, proof) = match (user.twofa_enabled(), second_factor) {
        (false, _) => (user, None),
        (true, None) => return Err(ApiError::SecondFactorRequired),
        (true, Some(typed)) => {
            let keys = app.keyring.keys().await?;
            let (counted, proven) = prove(app, keys, &user, &typed, purpose::RESET, &client).await?;
            (counted, Some(proven.proof))
        }
    };

    let password_hash = password::hash(&password).await?;
    let events: &[EventKind] = match proof {
        Some(Proof::BackupHash(_)) => &[EventKind::BackupCodeUsed, EventKind::PasswordReset],
        _ => &[EventKind::PasswordReset],
    };
    let now = app.now();
    let mut commit: Vec<Write> =
        writes::reset_password(&user, &token_hash, &password_hash, proof.as_ref(), now.timestamp()).into();
    commit.extend(writes::audit(&user.id, events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    let backup_codes_left = Some(user.backup_hashes.len().saturating_sub(1));
    app.mailer.notify(&user.email, events, now.timestamp_millis(), &client, backup_codes_left).await;
    tracing::info!(user_id = user.id, "password reset");
    Ok(json_response(StatusCode::OK, &json!({ "message": "password reset" })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::Value;
    use shared::factors::passkey::credential_key;
    use shared::mail::RESET_TTL_SECS;
    use shared::store::{PendingToken, UserRecord};
    use testkit::{Enrolled, PASSWORD, Reply, TestEnv, call, event, one_notice, unique_email};

    const NEW: &str = "a brand new passphrase";

    async fn reset(env: &TestEnv, body: Value) -> Reply {
        call(env, handle, event("password-reset").json(body).request()).await
    }

    /// A reset link for `user`, as `POST /auth/password/forgot` makes it.
    async fn reset_link(env: &TestEnv, user: &UserRecord) -> String {
        let token = MailToken::generate(&user.id);
        let pending = PendingToken { hash: token.hash(), expires_at: env.app.now().timestamp() + RESET_TTL_SECS };
        env.app.repo.commit(vec![writes::start_reset(&user.id, &pending)]).await.unwrap();
        token.for_link()
    }

    async fn password_is(env: &TestEnv, user: &UserRecord, candidate: &str) -> bool {
        let login = env.app.repo.reserve_password_attempt(&user.email, env.app.now().timestamp()).await.unwrap();
        let candidate = Password::parse(candidate.to_string().into()).unwrap();
        password::verify(&candidate, login.account.as_ref().map(|a| a.password_hash.as_str())).await.unwrap()
    }

    fn wrong(code: &str) -> String {
        format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
    }

    #[tokio::test]
    async fn without_2fa_the_token_alone_resets_ends_every_session_and_opens_none() {
        let env = TestEnv::new().await;
        let address = unique_email("plain");
        let user = env.register(&address).await;
        let session = env.sign_in(&user, None).await;
        let token = reset_link(&env, &user).await;
        env.keys().await;
        env.calls.reset();
        let reply = reset(&env, json!({ "token": token, "password": NEW })).await;
        assert_eq!((reply.status(), reply.json()), (200, json!({ "message": "password reset" })));
        assert_eq!(env.calls.take(), ["DynamoDB.GetItem", "DynamoDB.TransactWriteItems", "SESv2.SendEmail"]);
        assert!(reply.set_cookies().is_empty(), "no session is opened");
        assert!(password_is(&env, &user, NEW).await && !password_is(&env, &user, PASSWORD).await);
        assert_eq!(env.user(&user.id).await.version, user.version + 1, "every session ended");
        let stale = event("password-reset").cookie("access_token", &session.access_token).request();
        let refused = shared::http::authenticate(&env.app, &stale, shared::http::AdminRule::OpenBeforeTwofa).await;
        assert!(matches!(refused, Err(ApiError::Unauthorized)));
        let again = reset(&env, json!({ "token": token, "password": "yet another passphrase" })).await;
        assert_eq!((again.status(), again.error()), (400, "invalid_token".into()), "a token works once");
        let client = ClientInfo::of(&event("password-reset").request());
        one_notice(&address, "Your password was reset", env.app.now(), &client, &[NEW, PASSWORD, &token]).await;
        assert!(!env.table_contains(NEW.as_bytes()).await);
        assert!(!env.table_contains(token.split_once('.').unwrap().1.as_bytes()).await);
    }

    #[tokio::test]
    async fn with_2fa_no_code_is_second_factor_required_and_a_wrong_one_counts_and_neither_uses_the_token() {
        let env = TestEnv::new().await;
        let kit: Enrolled = env.enroll(&env.register(&unique_email("twofa")).await).await;
        let token = reset_link(&env, &kit.user).await;
        let bare = reset(&env, json!({ "token": token, "password": NEW })).await;
        assert_eq!((bare.status(), bare.error()), (400, "second_factor_required".into()));
        let code = env.code(&kit.secret);
        let wrong_code = reset(&env, json!({ "token": token, "password": NEW, "code": wrong(&code) })).await;
        assert_eq!((wrong_code.status(), wrong_code.error()), (400, "invalid_code".into()));
        assert_eq!(env.user(&kit.user.id).await.code_attempts, 1, "the wrong code counts toward the limit");
        assert!(password_is(&env, &kit.user, PASSWORD).await);
        let right = reset(&env, json!({ "token": token, "password": NEW, "code": code })).await;
        assert_eq!(right.status(), 200, "the token still worked: {:?}", right.json());
        assert!(password_is(&env, &kit.user, NEW).await);
        let after = env.user(&kit.user.id).await;
        assert!(after.twofa_enabled(), "a reset leaves 2FA on");
        assert_eq!(after.code_attempts, 0);
    }

    #[tokio::test]
    async fn a_backup_code_is_consumed_and_a_code_accepted_elsewhere_is_refused() {
        let env = TestEnv::new().await;
        let address = unique_email("backup");
        let kit = env.enroll(&env.register(&address).await).await;
        // The code of this step was just accepted at a sign-in.
        let code = env.code(&kit.secret);
        let step = shared::factors::totp::step_at(env.unix_now());
        env.app
            .repo
            .commit(vec![writes::accept_code(
                &kit.user,
                &Proof::Step { factor_id: kit.factor_id.clone(), step },
                0,
                None,
            )])
            .await
            .unwrap();
        let token = reset_link(&env, &kit.user).await;
        let replayed = reset(&env, json!({ "token": token, "password": NEW, "code": code })).await;
        assert_eq!((replayed.status(), replayed.error()), (400, "invalid_code".into()));

        let backup = reset(&env, json!({ "token": token, "password": NEW, "backupCode": kit.backup_codes[3] })).await;
        assert_eq!(backup.status(), 200);
        assert_eq!(env.user(&kit.user.id).await.backup_hashes.len(), 9, "the backup code is used up");
        let client = ClientInfo::of(&event("password-reset").request());
        let notice =
            one_notice(&address, "A backup code was used", env.app.now(), &client, &[&kit.backup_codes[3]]).await;
        assert!(notice.body.contains("9 backup codes left."));
        one_notice(&address, "Your password was reset", env.app.now(), &client, &[NEW]).await;
    }

    #[tokio::test]
    async fn a_link_stops_working_when_every_session_ends_for_another_reason() {
        let env = TestEnv::new().await;
        // A password change, signing out everywhere, an operator's command, 2FA on and off:
        // each ends every session because the account may be in someone else's hands.
        const OTHER: &str = "another passphrase";
        let other_hash = password::hash(&Password::parse(OTHER.to_string().into()).unwrap()).await.unwrap();
        type Ending<'a> = Box<dyn Fn(&UserRecord) -> Vec<Write> + 'a>;
        let endings: [(&str, Ending, &str); 4] = [
            ("password change", Box::new(|user| writes::change_password(user, &other_hash).into()), OTHER),
            ("logout-all", Box::new(|user| writes::bump_version(user).into()), PASSWORD),
            ("role granted", Box::new(|user| writes::set_role(user, shared::domain::Role::Admin).into()), PASSWORD),
            ("2FA reset", Box::new(|user| writes::turn_off(user, None, credential_key)), PASSWORD),
        ];
        for (what, ending, password_after) in endings {
            let user = env.register(&unique_email("ended")).await;
            let token = reset_link(&env, &user).await;
            env.app.repo.commit(ending(&user)).await.unwrap();
            let late = reset(&env, json!({ "token": token, "password": NEW })).await;
            assert_eq!((late.status(), late.error()), (400, "invalid_token".into()), "after {what}");
            assert!(password_is(&env, &user, password_after).await, "after {what}");
        }
        let kit = env.enroll(&env.register(&unique_email("twofa-on")).await).await;
        let token = reset_link(&env, &kit.user).await;
        let user = env.user(&kit.user.id).await;
        let stored = &user.backup_hashes;
        let hash = shared::factors::backup_codes::find_match(env.keys().await, &user.id, &kit.backup_codes[0], stored)
            .unwrap();
        let disable = writes::turn_off(&user, Some(&Proof::BackupHash(hash)), credential_key);
        env.app.repo.commit(disable).await.unwrap();
        let late = reset(&env, json!({ "token": token, "password": NEW })).await;
        assert_eq!((late.status(), late.error()), (400, "invalid_token".into()), "after 2FA off");
    }

    #[tokio::test]
    async fn ten_resets_with_one_token_at_once_succeed_once() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("race")).await;
        let token = reset_link(&env, &user).await;
        let tries = (0..10).map(|i| reset(&env, json!({ "token": token, "password": format!("new passphrase {i}") })));
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 9, "{statuses:?}");
    }

    #[tokio::test]
    async fn an_expired_an_older_or_a_malformed_token_is_invalid_and_bad_passwords_are_400() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("old")).await;
        let older = reset_link(&env, &user).await;
        let newer = reset_link(&env, &user).await;
        let superseded = reset(&env, json!({ "token": older, "password": NEW })).await;
        assert_eq!((superseded.status(), superseded.error()), (400, "invalid_token".into()));
        for body in [
            json!({ "token": newer, "password": "short" }),
            json!({ "token": newer }),
            json!({ "token": newer, "password": NEW, "code": "1", "backupCode": "2" }),
        ] {
            let reply = reset(&env, body).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()));
        }
        assert_eq!(reset(&env, json!({ "token": "garbage", "password": NEW })).await.error(), "invalid_token");
        env.clock.advance(Duration::seconds(RESET_TTL_SECS));
        let late = reset(&env, json!({ "token": newer, "password": NEW })).await;
        assert_eq!((late.status(), late.error()), (400, "invalid_token".into()), "expired after 30 minutes");
        assert!(password_is(&env, &user, PASSWORD).await);
    }

    #[tokio::test]
    async fn a_reset_clears_the_password_lockout() {
        let env = TestEnv::new().await;
        let user = env.register(&unique_email("locked")).await;
        for _ in 0..10 {
            env.app.repo.reserve_password_attempt(&user.email, env.app.now().timestamp()).await.unwrap();
        }
        let token = reset_link(&env, &user).await;
        assert_eq!(reset(&env, json!({ "token": token, "password": NEW })).await.status(), 200);
        let login = env.app.repo.reserve_password_attempt(&user.email, env.app.now().timestamp()).await;
        assert_eq!(login.unwrap().attempts, 1, "the count started again");
    }

    #[tokio::test]
    async fn a_passkey_proves_the_second_factor_at_a_reset_and_a_wrong_one_keeps_the_token() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = env
            .add_passkey(&env.register(&unique_email("reset-pk")).await, testkit::passkey::Behaviour::default())
            .await;
        let token = reset_link(&env, &user).await;
        let (ceremony, options) = env.passkey_challenge(&user, "reset").await;
        let tamper = testkit::passkey::Tamper { bad_signature: true, ..Default::default() };
        let bad = testkit::passkey_proof(&mut soft, &ceremony, &options, tamper);
        let refused = reset(&env, json!({ "token": token, "password": NEW, "passkey": bad })).await;
        assert_eq!((refused.status(), refused.error()), (400, "invalid_credential".into()));
        let (ceremony, options) = env.passkey_challenge(&user, "reset").await;
        let good = testkit::passkey_proof(&mut soft, &ceremony, &options, testkit::passkey::Tamper::default());
        let reply = reset(&env, json!({ "token": token, "password": NEW, "passkey": good })).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        assert!(password_is(&env, &user, NEW).await);
    }
}
