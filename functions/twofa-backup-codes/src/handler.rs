//! `POST /auth/2fa/backup-codes`: a new set of backup codes, for a current
//! TOTP code (of any of the user's apps) or a passkey; the previous codes stop working.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, TypedCode};
use shared::factors::backup_codes::BackupCodeSet;
use shared::flows::second_factor::{prove, purpose};
use shared::http::{AdminRule, SecondFactorBody, authenticate, json_body, json_response};
use shared::store::writes;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    if caller.user.twofa_enabled() {
        caller.require_aal2()?;
    }
    let presented = json_body::<SecondFactorBody>(&req)?.into_code()?;
    if matches!(presented, TypedCode::Backup(_)) {
        return Err(ApiError::invalid_request("send a code or a passkey: a backup code cannot make new ones"));
    }
    if !caller.user.twofa_enabled() {
        return Err(ApiError::TwofaNotEnabled);
    }

    let client = ClientInfo::of(&req);
    let keys = app.keyring.keys().await?;
    let (user, proven) = prove(app, keys, &caller.user, &presented, purpose::ACCOUNT, &client).await?;
    let now = app.now();

    let codes = BackupCodeSet::generate(keys, &user.id);
    let mut commit = vec![writes::replace_backup_codes(&user, &proven.proof, &codes.hashes, now.timestamp())];
    let events = [EventKind::BackupCodesRegenerated];
    commit.extend(writes::audit(&user.id, &events, now.timestamp_millis(), &client));
    app.repo.commit(commit).await?;
    app.mailer.notify(&user.email, &events, now.timestamp_millis(), &client, None).await;
    Ok(json_response(StatusCode::OK, &json!({ "backupCodes": codes.shown })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::SecondFactor;
    use shared::flows::second_factor::check as check_code;
    use testkit::{Reply, TestEnv, call, event};

    async fn regenerate(env: &TestEnv, access: &str, code: &str) -> Reply {
        let req = event("twofa-backup-codes").cookie("access_token", access).json(json!({ "code": code })).request();
        call(env, handle, req).await
    }

    #[tokio::test]
    async fn new_codes_replace_the_old_ones() {
        let env = TestEnv::new().await;
        let al = env.enroll(&env.register("al@example.com").await).await;
        let session = env.sign_in(&al.user, Some(SecondFactor::Totp)).await;
        let reply = regenerate(&env, &session.access_token, &env.code(&al.secret)).await;
        assert_eq!(reply.status(), 200);
        let fresh: Vec<String> =
            reply.json()["backupCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        assert_eq!(fresh.len(), 10);

        let keys = env.keys().await;
        let stored = env.user(&al.user.id).await;
        let now = env.unix_now();
        let old = TypedCode::Backup(al.backup_codes[0].clone());
        assert!(check_code(&env.app, keys, &stored, &old, None, now).unwrap().is_none());
        let new = TypedCode::Backup(fresh[0].clone());
        assert!(check_code(&env.app, keys, &stored, &new, None, now).unwrap().is_some());
        assert_eq!(testkit::last_step(&stored), Some(now / 30), "the accepted step is recorded");
    }

    #[tokio::test]
    async fn a_wrong_or_replayed_code_is_400_and_without_2fa_409() {
        let env = TestEnv::new().await;
        let bea = env.enroll(&env.register("bea@example.com").await).await;
        let session = env.sign_in(&bea.user, Some(SecondFactor::Totp)).await;
        let code = env.code(&bea.secret);
        assert_eq!(regenerate(&env, &session.access_token, &code).await.status(), 200);
        let replay = regenerate(&env, &session.access_token, &code).await;
        assert_eq!((replay.status(), replay.error()), (400, "invalid_code".into()));
        let backup_code = regenerate(&env, &session.access_token, &bea.backup_codes[0]).await;
        assert_eq!(backup_code.error(), "invalid_code", "only a TOTP code is accepted here");

        let plain = env.register("plain@example.com").await;
        let session = env.sign_in(&plain, None).await;
        let reply = regenerate(&env, &session.access_token, "123456").await;
        assert_eq!((reply.status(), reply.error()), (409, "twofa_not_enabled".into()));
    }

    #[tokio::test]
    async fn new_backup_codes_mail_one_notice_without_them() {
        let env = TestEnv::new().await;
        let address = testkit::unique_email("notice-codes");
        let kit = env.enroll(&env.register(&address).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let code = env.code(&kit.secret);
        let reply = regenerate(&env, &session.access_token, &code).await;
        assert_eq!(reply.status(), 200);
        let shown: Vec<String> = serde_json::from_value(reply.json()["backupCodes"].clone()).unwrap();
        let mut secrets: Vec<&str> = shown.iter().map(String::as_str).collect();
        secrets.push(&code);
        let client = ClientInfo::of(&event("twofa-backup-codes").request());
        testkit::one_notice(&address, "New backup codes", env.app.now(), &client, &secrets).await;
    }

    #[tokio::test]
    async fn a_passkey_makes_new_codes_and_a_backup_code_cannot() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register(&testkit::unique_email("codes-pk")).await).await;
        let (user, mut soft, factor_id) = env.add_passkey(&kit.user, testkit::passkey::Behaviour::default()).await;
        let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let (ceremony, options) = env.passkey_challenge(&user, "account").await;
        let proof = testkit::passkey_proof(&mut soft, &ceremony, &options, testkit::passkey::Tamper::default());
        let req =
            event("twofa-backup-codes").cookie("access_token", &session.access_token).json(json!({ "passkey": proof }));
        let reply = call(&env, handle, req.request()).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        assert!(env.user(&user.id).await.factor(&factor_id).unwrap().last_used_at.is_some());
        let by_backup = event("twofa-backup-codes")
            .cookie("access_token", &session.access_token)
            .json(json!({ "backupCode": kit.backup_codes[0] }));
        let refused = call(&env, handle, by_backup.request()).await;
        assert_eq!((refused.status(), refused.error()), (400, "invalid_request".into()));
    }
}
