//! `POST /auth/factors/passkey`: finish a passkey's registration. The
//! ceremony works once, whatever the outcome; the credential id belongs to
//! one account (claimed by a conditional put in the same transaction). The
//! first factor turns 2FA on as enable does: backup codes, fresh aal-2
//! cookies, every other session ends; a further one keeps them.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::domain::{ClientInfo, EventKind, FactorKind, FactorName, SecondFactor};
use shared::factors::backup_codes::BackupCodeSet;
use shared::factors::passkey::credential_key;
use shared::flows::factors::{name_of, new_passkey};
use shared::flows::second_factor::purpose;
use shared::flows::session::{NewSession, Subject};
use shared::http::{AdminRule, FactorView, authenticate, json_body, json_response, with_cookies};
use shared::store::{UserRecord, Write, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    #[serde(rename = "ceremonyId")]
    ceremony_id: String,
    /// `RegistrationResponseJSON`, checked by the WebAuthn library.
    credential: Value,
    name: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    if caller.user.twofa_enabled() {
        caller.require_aal2()?;
    }
    let body: RegisterBody = json_body(&req)?;
    if let Some(name) = &body.name {
        FactorName::parse(name)?;
    }
    let now = app.now();
    let first = caller.may_add_factor(now.timestamp())?;
    let user = &caller.user;
    let ceremony = user
        .ceremonies
        .get(&body.ceremony_id)
        .filter(|c| c.purpose == purpose::REGISTRATION && c.expires_at > now.timestamp())
        .ok_or(ApiError::CeremonyExpired)?;

    let passkey = match app.passkeys.finish_registration(&body.credential, &ceremony.state) {
        Ok(passkey) => passkey,
        Err(ApiError::InvalidCredential) => {
            return Err(used_up(app, user, &body.ceremony_id, now.timestamp(), ApiError::InvalidCredential).await);
        }
        Err(other) => return Err(other),
    };
    let name = name_of(body.name.as_deref(), ceremony.name.as_deref(), FactorKind::Passkey)?;
    let synced = passkey.synced;
    let key = credential_key(&passkey.credential_id);
    let factor = new_passkey(&name, passkey, now.timestamp_millis());
    let view = FactorView::from(&factor);
    let client = ClientInfo::of(&req);

    if !first {
        let mut commit = writes::add_passkey(user, &factor, &key, &body.ceremony_id, None, now.timestamp());
        commit.extend(writes::audit(&user.id, &[EventKind::FactorAdded], now.timestamp_millis(), &client));
        commit_or_use_up(app, user, &body.ceremony_id, commit, now.timestamp()).await?;
        app.mailer.notify(&user.email, &[EventKind::FactorAdded], now.timestamp_millis(), &client, None).await;
        tracing::info!(user_id = user.id, "passkey added");
        return Ok(json_response(StatusCode::CREATED, &json!({ "factor": view })));
    }

    let issuer = app.issuer(&req).await?;
    let backup_codes = BackupCodeSet::generate(issuer.keys, &user.id);
    // Every other session ends with the version bump; the caller's new one carries the new version.
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version + 1 };
    let second = Some(SecondFactor::Passkey { synced });
    let session = NewSession::issue(app, &issuer, subject, second, (now.timestamp(), now.timestamp()), &client)?;
    let hashes = backup_codes.hashes.as_slice();
    let mut commit = writes::add_passkey(user, &factor, &key, &body.ceremony_id, Some(hashes), now.timestamp());
    commit.push(session.write());
    commit.extend(writes::audit(&user.id, &[EventKind::TwofaEnabled], now.timestamp_millis(), &client));
    commit_or_use_up(app, user, &body.ceremony_id, commit, now.timestamp()).await?;
    app.mailer.notify(&user.email, &[EventKind::TwofaEnabled], now.timestamp_millis(), &client, None).await;
    tracing::info!(user_id = user.id, "2FA enabled with a passkey");
    let body = json!({ "factor": view, "backupCodes": backup_codes.shown });
    Ok(with_cookies(json_response(StatusCode::CREATED, &body), session.cookies(app)))
}

/// Commits the registration; when another account holds the credential id,
/// the ceremony is used up all the same (it was used within the failed
/// transaction, which took that back).
async fn commit_or_use_up(
    app: &App,
    user: &UserRecord,
    ceremony_id: &str,
    commit: Vec<Write>,
    now: i64,
) -> Result<(), ApiError> {
    match app.repo.commit(commit).await {
        Err(ApiError::CredentialInUse) => Err(used_up(app, user, ceremony_id, now, ApiError::CredentialInUse).await),
        other => other,
    }
}

/// Uses the ceremony up after a refused registration, and gives the refusal
/// (or what stopped the write).
async fn used_up(app: &App, user: &UserRecord, ceremony_id: &str, now: i64, refusal: ApiError) -> ApiError {
    let used = writes::drop_ceremony(user, ceremony_id, purpose::REGISTRATION, now);
    match app.repo.commit(vec![used]).await {
        Ok(()) => refusal,
        Err(err) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::Aal;
    use testkit::passkey::{Behaviour, SoftPasskey};
    use testkit::{FRONT_END_ORIGIN, Reply, TestEnv, call, event};

    /// Options as `factors/passkey/options` gives them (the ceremony kept), for `user`.
    async fn options(env: &TestEnv, user: &UserRecord) -> (String, Value) {
        let user = env.user(&user.id).await;
        let now = env.app.now().timestamp();
        let (handle, new_handle) = shared::flows::factors::passkey_user_handle(&user).unwrap();
        let existing = shared::flows::factors::stored_passkeys(&user);
        let started = env.fixtures.passkeys.start_registration(handle, user.email.as_str(), &existing).unwrap();
        let id = shared::crypto::random_id();
        let ceremony = shared::store::CeremonyRecord {
            purpose: purpose::REGISTRATION.into(),
            state: started.state,
            expires_at: now + 300,
            name: None,
        };
        env.app
            .repo
            .commit(vec![writes::start_ceremony(&user, &id, &ceremony, new_handle.as_deref(), now)])
            .await
            .unwrap();
        (id, started.public_key)
    }

    async fn register(env: &TestEnv, access: &str, body: Value) -> Reply {
        call(env, handle, event("passkey-register").cookie("access_token", access).json(body).request()).await
    }

    #[tokio::test]
    async fn a_first_passkey_turns_2fa_on_in_two_calls_with_backup_codes_and_fresh_aal2_cookies() {
        let env = TestEnv::new().await;
        let user = env.register_verified(&testkit::unique_email("first-pk")).await;
        let other = env.sign_in(&user, None).await;
        let session = env.sign_in(&user, None).await;
        let (ceremony, public_key) = options(&env, &user).await;
        let (_, credential) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
        env.keys().await;
        env.calls.reset();
        let body = json!({ "ceremonyId": ceremony, "credential": credential, "name": "Laptop" });
        let reply = register(&env, &session.access_token, body).await;
        assert_eq!(reply.status(), 201, "{}", reply.json());
        let calls = env.calls.take();
        assert_eq!(&calls[..2], ["DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"], "{calls:?}");
        assert_eq!(reply.json()["backupCodes"].as_array().unwrap().len(), 10);
        assert_eq!(reply.json()["factor"]["name"], "Laptop");
        assert_eq!(reply.json()["factor"]["type"], "passkey");
        assert_eq!(reply.json()["factor"]["synced"], false);
        let claims = env.access_claims(&reply.cookie("access_token").unwrap()).await;
        assert_eq!((claims.aal, claims.amr.clone()), (Aal::Two, vec!["pwd".to_string(), "hwk".to_string()]));
        let stored = env.user(&user.id).await;
        assert!(stored.twofa_enabled() && stored.version == user.version + 1, "every other session ends");
        assert!(stored.ceremonies.is_empty(), "the ceremony is used up");
        let stale = event("passkey-register").cookie("access_token", &other.access_token).request();
        assert!(shared::http::authenticate(&env.app, &stale, shared::http::AdminRule::OpenBeforeTwofa).await.is_err());
    }

    #[tokio::test]
    async fn a_further_passkey_keeps_sessions_and_backup_codes_and_needs_aal2() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&testkit::unique_email("more-pk")).await).await;
        let aal1 = env.sign_in(&kit.user, None).await;
        let (ceremony, public_key) = options(&env, &kit.user).await;
        let (_, credential) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
        let body = json!({ "ceremonyId": ceremony, "credential": credential });
        let refused = register(&env, &aal1.access_token, body.clone()).await;
        assert_eq!((refused.status(), refused.error()), (403, "mfa_required".into()));
        let aal2 = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let reply = register(&env, &aal2.access_token, body).await;
        assert_eq!(reply.status(), 201, "{}", reply.json());
        assert!(reply.json().get("backupCodes").is_none() && reply.set_cookies().is_empty());
        assert_eq!(reply.json()["factor"]["name"], "Passkey");
        let stored = env.user(&kit.user.id).await;
        assert_eq!((stored.factors.len(), stored.backup_hashes.len(), stored.version), (2, 10, kit.user.version));
    }

    #[tokio::test]
    async fn a_registration_that_does_not_verify_is_invalid_credential_and_uses_the_ceremony_up() {
        let env = TestEnv::new().await;
        let user = env.register_verified(&testkit::unique_email("bad-pk")).await;
        let session = env.sign_in(&user, None).await;
        for (what, behaviour, origin) in [
            ("no user verification", Behaviour { user_verified: false, ..Default::default() }, FRONT_END_ORIGIN),
            ("no user presence", Behaviour { user_present: false, ..Default::default() }, FRONT_END_ORIGIN),
            ("another origin", Behaviour::default(), "https://evil.example"),
        ] {
            let (ceremony, public_key) = options(&env, &user).await;
            let (_, credential) = SoftPasskey::register(&public_key, origin, behaviour);
            let body = json!({ "ceremonyId": ceremony, "credential": credential });
            let reply = register(&env, &session.access_token, body.clone()).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()), "{what}");
            let again = register(&env, &session.access_token, body).await;
            assert_eq!((again.status(), again.error()), (400, "ceremony_expired".into()), "{what}: used once");
        }
        for hostile in
            [json!("not an object"), json!({ "id": 5 }), json!({ "response": { "attestationObject": "%%%" } })]
        {
            let (ceremony, _) = options(&env, &user).await;
            let reply =
                register(&env, &session.access_token, json!({ "ceremonyId": ceremony, "credential": hostile })).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()), "{hostile}");
        }
        assert!(!env.user(&user.id).await.twofa_enabled(), "nothing was added");
    }

    #[tokio::test]
    async fn hostile_registration_bodies_are_400_and_change_nothing() {
        let env = TestEnv::new().await;
        let user = env.register_verified(&testkit::unique_email("hostile-pk")).await;
        let session = env.sign_in(&user, None).await;
        let (_, any_options) = options(&env, &user).await;
        let (_, any) = SoftPasskey::register(&any_options, FRONT_END_ORIGIN, Behaviour::default());
        for case in 0..testkit::passkey::hostile_registrations(&any).len() {
            // Each made from a response that would verify for its own ceremony.
            let (ceremony, public_key) = options(&env, &user).await;
            let (_, valid) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
            let (what, credential) = testkit::passkey::hostile_registrations(&valid).swap_remove(case);
            let reply =
                register(&env, &session.access_token, json!({ "ceremonyId": ceremony, "credential": credential }))
                    .await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()), "{what}");
        }
        // A credential id over WebAuthn's 1023 bytes, attested as such.
        let (ceremony, public_key) = options(&env, &user).await;
        let (mut long, _) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
        long.credential_id = vec![7; 1100];
        let credential = long.register_again(&public_key, FRONT_END_ORIGIN);
        let reply =
            register(&env, &session.access_token, json!({ "ceremonyId": ceremony, "credential": credential })).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_credential".into()), "an attested id of 1100 bytes");
        let (ceremony, unused_options) = options(&env, &user).await;
        let (_, valid) = SoftPasskey::register(&unused_options, FRONT_END_ORIGIN, Behaviour::default());
        for (what, body) in [
            ("no ceremonyId", json!({ "credential": valid })),
            ("a numeric ceremonyId", json!({ "ceremonyId": 7, "credential": valid })),
            ("no credential", json!({ "ceremonyId": ceremony })),
            ("a name that is no string", json!({ "ceremonyId": ceremony, "credential": valid, "name": [1] })),
            ("an unknown field", json!({ "ceremonyId": ceremony, "credential": valid, "alg": -7 })),
        ] {
            let reply = register(&env, &session.access_token, body).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()), "{what}");
        }
        let padded = json!({ "ceremonyId": ceremony, "credential": valid, "name": "x".repeat(20_000) });
        assert_eq!(register(&env, &session.access_token, padded).await.status(), 413, "a body over 16 KiB");
        let stored = env.user(&user.id).await;
        assert!(stored.factors.is_empty() && !stored.twofa_enabled() && stored.version == user.version);
        // The ceremony none of them used still works.
        let (_, credential) = SoftPasskey::register(&unused_options, FRONT_END_ORIGIN, Behaviour::default());
        let reply =
            register(&env, &session.access_token, json!({ "ceremonyId": ceremony, "credential": credential })).await;
        assert_eq!(reply.status(), 201, "{}", reply.json());
    }

    #[tokio::test]
    async fn one_credential_registered_by_two_accounts_at_once_belongs_to_one() {
        let env = TestEnv::new().await;
        let (a, b) = (
            env.register_verified(&testkit::unique_email("a")).await,
            env.register_verified(&testkit::unique_email("b")).await,
        );
        let (sa, sb) = (env.sign_in(&a, None).await, env.sign_in(&b, None).await);
        let (ca, pa) = options(&env, &a).await;
        let (cb, pb) = options(&env, &b).await;
        // One authenticator's credential, answered to both ceremonies (its user handle aside).
        let (soft, credential_a) = SoftPasskey::register(&pa, FRONT_END_ORIGIN, Behaviour::default());
        let credential_b = soft.register_again(&pb, FRONT_END_ORIGIN);
        let (ra, rb) = futures::join!(
            register(&env, &sa.access_token, json!({ "ceremonyId": ca, "credential": credential_a })),
            register(&env, &sb.access_token, json!({ "ceremonyId": cb, "credential": credential_b })),
        );
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{} {}", ra.json(), rb.json());
        let loser = if ra.status() == 409 { &ra } else { &rb };
        assert_eq!(loser.error(), "credential_in_use");
        let claims = env.dump().await.iter().filter(|item| item["pk"].as_s().unwrap().starts_with("CRED#")).count();
        assert_eq!(claims, 1);
        // The loser's ceremony is used up like any other refused one.
        let (loser_ceremony, loser_options, loser_access) =
            if ra.status() == 409 { (&ca, &pa, &sa.access_token) } else { (&cb, &pb, &sb.access_token) };
        let (_, fresh) = SoftPasskey::register(loser_options, FRONT_END_ORIGIN, Behaviour::default());
        let again = register(&env, loser_access, json!({ "ceremonyId": loser_ceremony, "credential": fresh })).await;
        assert_eq!(
            (again.status(), again.error()),
            (400, "ceremony_expired".into()),
            "used once, whatever the outcome"
        );
    }

    #[tokio::test]
    async fn one_ceremony_finished_twice_at_once_adds_one_passkey() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&testkit::unique_email("twice")).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let (ceremony, public_key) = options(&env, &kit.user).await;
        // Two authenticators answer the same ceremony (two credentials, one challenge).
        let (_, first) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
        let (_, second) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
        let tries = [first, second].map(|credential| {
            register(&env, &session.access_token, json!({ "ceremonyId": ceremony, "credential": credential }))
        });
        let statuses: Vec<u16> = futures::future::join_all(tries).await.iter().map(Reply::status).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(env.user(&kit.user.id).await.factors.len(), 2);
    }

    #[tokio::test]
    async fn a_sixth_factor_raced_against_the_fifth_is_refused() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&testkit::unique_email("five")).await).await;
        for _ in 0..3 {
            env.add_passkey(&kit.user, Behaviour::default()).await;
        }
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        let (c1, p1) = options(&env, &kit.user).await;
        let (c2, p2) = options(&env, &kit.user).await;
        let (_, r1) = SoftPasskey::register(&p1, FRONT_END_ORIGIN, Behaviour::default());
        let (_, r2) = SoftPasskey::register(&p2, FRONT_END_ORIGIN, Behaviour::default());
        let (a, b) = futures::join!(
            register(&env, &session.access_token, json!({ "ceremonyId": c1, "credential": r1 })),
            register(&env, &session.access_token, json!({ "ceremonyId": c2, "credential": r2 })),
        );
        let mut outcomes = [(a.status(), a.error()), (b.status(), b.error())];
        outcomes.sort();
        assert_eq!(outcomes, [(201, String::new()), (409, "too_many_factors".into())]);
        assert_eq!(env.user(&kit.user.id).await.factors.len(), 5);
    }

    #[tokio::test]
    async fn a_passkey_options_and_registration_need_a_recent_proof_and_a_verified_email() {
        let env = TestEnv::new().await;
        let user = env.register(&testkit::unique_email("rules")).await;
        let session = env.sign_in(&user, None).await;
        let (ceremony, public_key) = options(&env, &user).await;
        let (_, credential) = SoftPasskey::register(&public_key, FRONT_END_ORIGIN, Behaviour::default());
        let body = json!({ "ceremonyId": ceremony, "credential": credential });
        let reply = register(&env, &session.access_token, body.clone()).await;
        assert_eq!((reply.status(), reply.error()), (403, "email_unverified".into()));
        env.mark_verified(&user).await;
        env.clock.advance(chrono::Duration::minutes(11));
        let reply = register(&env, &session.access_token, body).await;
        assert_eq!((reply.status(), reply.error()), (401, "reauthentication_required".into()));
    }
}
