//! `POST /auth/passkey/login`: sign in with a passkey alone. Open the sealed
//! ceremony, find the account by the credential id, check the assertion
//! against that account's passkey (user handle, challenge, origin, user
//! verification, signature, counter), and commit in one transaction: the
//! ceremony used up, the counter and `lastUsedAt` on the factor, the aal-2
//! session, `passkey_login`. A refused assertion uses the ceremony up too,
//! and every refusal looks the same: `401 invalid_credentials`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::domain::{Aal, ClientInfo, EventKind, SignIn};
use shared::factors::passkey::{SIGN_IN, SealedCeremony, SignInAssertion, counter_grows, credential_key};
use shared::flows::session::{NewSession, Subject};
use shared::http::{PasskeyProof, UserView, json_body, json_response, with_cookies};
use shared::store::writes::{self, Proof};
use shared::store::{FactorSecret, UserRecord};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let body: PasskeyProof = json_body(&req)?;
    let keys = app.keyring.keys().await?;
    let now = app.now();
    let ceremony = keys.open_ceremony(SIGN_IN, &body.ceremony_id, now.timestamp())?;
    let Some(proven) = check(app, &body.credential, &ceremony.state).await? else {
        return Err(used_up(app, &ceremony).await);
    };

    let user = &proven.user;
    let client = ClientInfo::of(&req);
    let issuer = app.issuer(&req).await?;
    let subject = Subject { user_id: &user.id, role: user.role, version: user.version };
    let sign_in = SignIn::Passkey { synced: proven.synced };
    let session = NewSession::issue(app, &issuer, subject, sign_in, (now.timestamp(), now.timestamp()), &client)?;
    // The profile's update holds only at the version read: an account deleted
    // or changed meanwhile opens no session.
    let mut commit = vec![
        writes::use_sealed_ceremony(&ceremony.key, ceremony.expires_at),
        writes::accept_code(user, &proven.proof, now.timestamp(), None),
        session.write(),
    ];
    commit.extend(writes::audit(&user.id, &[EventKind::PasskeyLogin], now.timestamp_millis(), &client));
    match app.repo.commit(commit).await {
        Ok(()) => {}
        // The counter moved, the passkey went or the account changed since it was read.
        Err(ApiError::InvalidCredential | ApiError::TwofaNotEnabled | ApiError::StaleVersion) => {
            return Err(used_up(app, &ceremony).await);
        }
        Err(other) => return Err(other),
    }
    tracing::info!(user_id = user.id, "signed in with a passkey");

    // A passkey is a second factor: an admin signed in this way has 2FA.
    let view = UserView::of(user, Aal::Two);
    let body = json!({ "requires2FA": false, "requires2FASetup": false, "user": view });
    Ok(with_cookies(json_response(StatusCode::OK, &body), session.cookies(app)))
}

/// What a valid assertion proved: whose passkey, and how to record its use.
struct Proven {
    user: UserRecord,
    proof: Proof,
    synced: bool,
}

/// The account whose passkey made this assertion for the ceremony, or
/// `None` for an assertion that is malformed, of an unknown credential (or
/// one whose account is gone), for another user handle, wrongly signed, not
/// user-verified, or whose counter did not grow.
async fn check(app: &App, response: &Value, state: &str) -> Result<Option<Proven>, ApiError> {
    let refused = |why: &str| {
        tracing::info!(reason = why, "passkey sign-in refused");
        Ok(None)
    };
    let Ok(assertion) = SignInAssertion::parse(response) else { return Ok(None) };
    let Some(owner) = app.repo.credential_owner(&credential_key(&assertion.credential_id)).await? else {
        return refused("an unknown credential");
    };
    let Some(user) = app.repo.user(&owner.user_id).await? else { return refused("the account is gone") };
    let passkey = user.factor(&owner.factor_id).and_then(|factor| match &factor.secret {
        FactorSecret::Passkey { credential, credential_id, counter, synced }
            if *credential_id == assertion.credential_id =>
        {
            Some((factor.id.clone(), credential.clone(), *counter, *synced))
        }
        _ => None,
    });
    let Some((factor_id, credential, stored_counter, synced)) = passkey else {
        return refused("the account has no such passkey");
    };
    let signed = match app.passkeys.finish_sign_in(&assertion, state, &credential, user.passkey_user.as_deref()) {
        Ok(signed) => signed,
        Err(ApiError::InvalidCredential) => return Ok(None),
        Err(other) => return Err(other),
    };
    if !counter_grows(stored_counter, signed.counter) {
        return refused("the counter did not grow: a clone?");
    }
    let proof = Proof::Passkey { factor_id, counter: signed.counter };
    Ok(Some(Proven { user, proof, synced }))
}

/// Uses the ceremony up after a refused sign-in (it works once, whatever the
/// outcome): `invalid_credentials`, or `ceremony_expired` when it had been used.
async fn used_up(app: &App, ceremony: &SealedCeremony) -> ApiError {
    match app.repo.commit(vec![writes::use_sealed_ceremony(&ceremony.key, ceremony.expires_at)]).await {
        Ok(()) => ApiError::PasskeyNotAccepted,
        Err(err) => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use chrono::Duration;
    use shared::domain::CEREMONY_TTL_SECS;
    use shared::http::{AdminRule, authenticate};
    use testkit::passkey::{Behaviour, SoftPasskey, Tamper};
    use testkit::proxy::Fault;
    use testkit::{FRONT_END_ORIGIN, Reply, TestEnv, call, event, passkey_proof, timed, unique_email};

    type Item = HashMap<String, AttributeValue>;

    async fn login(env: &TestEnv, body: Value) -> Reply {
        call(env, handle, event("passkey-login").json(body).request()).await
    }

    /// A ceremony as `passkey/options` makes it: the sealed id and the request options.
    async fn options(env: &TestEnv) -> (String, Value) {
        let started = env.fixtures.passkeys.start_sign_in().unwrap();
        let keys = env.fixtures.keyring.keys().await.unwrap();
        let expires_at = env.app.now().timestamp() + CEREMONY_TTL_SECS;
        (keys.seal_ceremony(SIGN_IN, &started.state, expires_at), started.public_key)
    }

    /// A fresh ceremony and `passkey`'s assertion for it: a login body.
    async fn signed(env: &TestEnv, passkey: &mut SoftPasskey, tamper: Tamper) -> Value {
        let (ceremony, options) = options(env).await;
        passkey_proof(passkey, &ceremony, &options, tamper)
    }

    async fn with_passkey(env: &TestEnv, name: &str, behaviour: Behaviour) -> (UserRecord, SoftPasskey, String) {
        env.add_passkey(&env.register(&unique_email(name)).await, behaviour).await
    }

    fn sk(item: &Item) -> &str {
        item["sk"].as_s().unwrap()
    }

    fn pk(item: &Item) -> &str {
        item["pk"].as_s().unwrap()
    }

    /// The items of `after` that `before` did not have (or had otherwise).
    fn written(before: &[Item], after: &[Item]) -> Vec<Item> {
        after.iter().filter(|item| !before.contains(item)).cloned().collect()
    }

    /// Asserts that a refused sign-in wrote nothing but its ceremony's used-marker.
    async fn only_the_marker(env: &TestEnv, before: &[Item], what: &str) {
        let written = written(before, &env.dump().await);
        let keys: Vec<(&str, &str)> = written.iter().map(|item| (pk(item), sk(item))).collect();
        assert!(
            written.len() == 1 && pk(&written[0]).starts_with("CEREMONY#") && sk(&written[0]) == "USED",
            "{what}: wrote {keys:?}"
        );
    }

    fn count(items: &[Item], prefix: &str) -> usize {
        items.iter().filter(|item| sk(item).starts_with(prefix)).count()
    }

    fn passkey_counter(user: &UserRecord, factor_id: &str) -> (u32, Option<i64>) {
        let factor = user.factor(factor_id).unwrap();
        match factor.secret {
            FactorSecret::Passkey { counter, .. } => (counter, factor.last_used_at),
            FactorSecret::Totp { .. } => panic!("not a passkey"),
        }
    }

    fn refused(reply: &Reply, what: &str) {
        assert_eq!((reply.status(), reply.error()), (401, "invalid_credentials".into()), "{what}");
        assert!(reply.set_cookies().is_empty(), "{what}: no session");
    }

    fn expired(reply: &Reply, what: &str) {
        assert_eq!((reply.status(), reply.error()), (400, "ceremony_expired".into()), "{what}");
        assert!(reply.set_cookies().is_empty(), "{what}: no session");
    }

    #[tokio::test]
    async fn a_passkey_alone_opens_an_aal2_session_in_three_calls() {
        let env = TestEnv::new().await;
        let (user, mut soft, factor_id) = with_passkey(&env, "signin", Behaviour::default()).await;
        let body = signed(&env, &mut soft, Tamper::default()).await;
        env.keys().await;
        env.calls.reset();
        let reply = login(&env, body).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        assert_eq!(env.calls.take(), ["DynamoDB.GetItem", "DynamoDB.GetItem", "DynamoDB.TransactWriteItems"]);
        assert_eq!(
            reply.json(),
            json!({ "requires2FA": false, "requires2FASetup": false, "user": {
                "id": user.id, "email": user.email.as_str(), "emailVerified": false, "role": "user",
                "twoFactorEnabled": true, "aal": 2, "passkeys": 1 } })
        );
        let access = reply.cookie("access_token").unwrap();
        assert!(!reply.cookie("refresh_token").unwrap().is_empty());
        let claims = env.access_claims(&access).await;
        let now = env.app.now().timestamp();
        assert_eq!(
            (claims.reg.sub.as_str(), claims.aal, claims.amr.clone()),
            (user.id.as_str(), Aal::Two, vec!["hwk".into()])
        );
        assert_eq!((claims.auth_time, claims.scope.as_str()), (now, "aal1 aal2"));

        // The session works, as recent authentication, on routes that demand 2FA.
        let req = event("me").cookie("access_token", &access).request();
        let caller = authenticate(&env.fixtures, &req, AdminRule::RequiresTwofa).await.expect("the session works");
        assert!(caller.require_recent(now).is_ok());
        assert_eq!((caller.session.amr, caller.session.started_at), (vec!["hwk".to_string()], now));

        let stored = env.user(&user.id).await;
        assert_eq!(passkey_counter(&stored, &factor_id), (1, Some(now)), "the counter and lastUsedAt recorded");
        assert_eq!(stored.version, user.version, "other sessions stay");
        let events = env.app.repo.recent_events(&user.id, now, 10).await.unwrap();
        let logged = |kind: EventKind| events.iter().filter(|e| e.kind == kind).count();
        assert_eq!((logged(EventKind::PasskeyLogin), logged(EventKind::Login)), (1, 0), "not a password login");
        let items = env.dump().await;
        let marker = items.iter().find(|item| pk(item).starts_with("CEREMONY#")).expect("the ceremony marked used");
        assert_eq!(marker["ttl"].as_n().unwrap(), &(now + CEREMONY_TTL_SECS).to_string());
    }

    #[tokio::test]
    async fn a_synced_passkey_signs_in_as_swk_and_an_admin_has_2fa_by_definition() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = with_passkey(&env, "synced", Behaviour { synced: true, ..Default::default() }).await;
        let admin = env.grant_admin(&user).await;
        for _ in 0..2 {
            // A synced passkey counts nothing: 0 again and again is fine.
            let reply = login(&env, signed(&env, &mut soft, Tamper::default()).await).await;
            assert_eq!(reply.status(), 200, "{}", reply.json());
            assert_eq!(reply.json()["requires2FASetup"], false);
            assert_eq!(reply.json()["user"]["role"], "admin");
            let access = reply.cookie("access_token").unwrap();
            assert_eq!(env.access_claims(&access).await.amr, ["swk"]);
            let req = event("me").cookie("access_token", &access).request();
            assert!(authenticate(&env.fixtures, &req, AdminRule::RequiresTwofa).await.is_ok(), "no mfa_required");
        }
        assert_eq!(env.user(&admin.id).await.role, shared::domain::Role::Admin);
    }

    #[tokio::test]
    async fn the_code_limit_does_not_bar_a_passkey_sign_in_which_resets_it_as_a_right_code_does() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = with_passkey(&env, "limit", Behaviour::default()).await;
        // Five wrong codes (or passkeys) at verify-login: every further code is 429 there.
        for _ in 0..5 {
            env.app.repo.reserve_code_attempt(&user.id, user.version, None, env.app.now().timestamp()).await.unwrap();
        }
        assert_eq!(env.user(&user.id).await.code_attempts, 5);
        // An assertion cannot be guessed, and each needs a fresh ceremony and the authenticator.
        assert_eq!(login(&env, signed(&env, &mut soft, Tamper::default()).await).await.status(), 200);
        assert_eq!(env.user(&user.id).await.code_attempts, 0);
    }

    #[tokio::test]
    async fn a_ceremony_works_once_whatever_the_outcome() {
        let env = TestEnv::new().await;
        let (_, mut soft, _) = with_passkey(&env, "replay", Behaviour::default()).await;
        let (ceremony, options) = options(&env).await;
        let body = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        assert_eq!(login(&env, body.clone()).await.status(), 200);
        expired(&login(&env, body).await, "the same body again");
        let fresh = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        expired(&login(&env, fresh).await, "a new assertion for the used ceremony");

        // A refused assertion uses its ceremony up too.
        let (ceremony, options) = self::options(&env).await;
        let bad = passkey_proof(&mut soft.clone(), &ceremony, &options, Tamper { bad_signature: true, counter: None });
        refused(&login(&env, bad).await, "a bad signature");
        let good = passkey_proof(&mut soft, &ceremony, &options, Tamper::default());
        expired(&login(&env, good).await, "the right assertion after a wrong one");
        assert_eq!(count(&env.dump().await, "SESSION#"), 1);
    }

    #[tokio::test]
    async fn a_forged_tampered_expired_or_foreign_ceremony_is_expired_and_writes_nothing() {
        let env = TestEnv::new().await;
        let (user, soft, _) = with_passkey(&env, "ceremony", Behaviour::default()).await;
        let before = env.dump().await;
        let keys = env.fixtures.keyring.keys().await.unwrap();

        let valid = signed(&env, &mut soft.clone(), Tamper::default()).await;
        let id = valid["ceremonyId"].as_str().unwrap();
        let mut tampered = B64.decode(id).unwrap();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x40;
        let (challenge, challenge_options) = env.passkey_challenge(&user, "verify-login").await;
        let started = env.fixtures.passkeys.start_sign_in().unwrap();
        let later = env.app.now().timestamp() + CEREMONY_TTL_SECS;
        let with_id = |id: String| json!({ "ceremonyId": id, "credential": valid["credential"] });
        for (what, body) in [
            ("tampered", with_id(B64.encode(&tampered))),
            ("truncated", with_id(id[..id.len() - 4].to_string())),
            ("forged", with_id(B64.encode([1u8; 120]))),
            ("not base64url", with_id("%%%".into())),
            ("empty", with_id(String::new())),
            ("sealed for another purpose", with_id(keys.seal_ceremony("verify-login", &started.state, later))),
            ("sealed as a TOTP secret", with_id(B64.encode(keys.seal_totp_secret(&user.id, started.state.as_bytes())))),
            ("of 2fa/challenge", passkey_proof(&mut soft.clone(), &challenge, &challenge_options, Tamper::default())),
        ] {
            expired(&login(&env, body).await, what);
        }
        env.clock.advance(Duration::minutes(5));
        expired(&login(&env, valid).await, "five minutes later");
        let after = env.dump().await;
        assert_eq!(written(&before, &after).len(), 1, "only 2fa/challenge's own ceremony on the profile");
        assert!(env.user(&user.id).await.ceremonies.contains_key(&challenge), "not used up for its rightful use");
    }

    #[tokio::test]
    async fn an_unknown_credential_and_each_failed_check_get_the_same_401_and_use_the_ceremony_up() {
        let env = TestEnv::new().await;
        let (user, mut soft, factor_id) = with_passkey(&env, "checks", Behaviour::default()).await;
        let (other, mut other_soft, _) = with_passkey(&env, "other", Behaviour::default()).await;
        assert_eq!(login(&env, signed(&env, &mut soft, Tamper::default()).await).await.status(), 200);
        let stored = passkey_counter(&env.user(&user.id).await, &factor_id);

        // A passkey this service never registered (a user handle of its own).
        let creation =
            json!({ "rp": { "id": "app.example.com" }, "user": { "id": B64.encode([5u8; 16]) }, "challenge": "" });
        let (mut stranger, _) = SoftPasskey::register(&creation, FRONT_END_ORIGIN, Behaviour::default());
        let mut unverified = soft.clone();
        unverified.behaviour.user_verified = false;
        let mut wrong_origin = signed(&env, &mut soft.clone(), Tamper::default()).await;
        let (ceremony, options) = options(&env).await;
        wrong_origin["credential"] = soft.clone().assert(&options, "https://evil.example", Tamper::default());
        wrong_origin["ceremonyId"] = ceremony.into();
        // This user's assertion claiming the other user's handle (the signature does not cover it).
        let mut other_handle = signed(&env, &mut soft.clone(), Tamper::default()).await;
        other_handle["credential"]["response"]["userHandle"] = other.passkey_user.clone().unwrap().into();
        // The other user's passkey presenting this user's credential id.
        let mut other_key = signed(&env, &mut other_soft, Tamper::default()).await;
        let id = B64.encode(&soft.credential_id);
        other_key["credential"]["id"] = id.clone().into();
        other_key["credential"]["rawId"] = id.into();
        other_key["credential"]["response"]["userHandle"] = user.passkey_user.clone().unwrap().into();
        let mut no_handle = signed(&env, &mut soft.clone(), Tamper::default()).await;
        no_handle["credential"]["response"]["userHandle"] = Value::Null;

        let bad_signature = Tamper { bad_signature: true, counter: None };
        let (same, zero) =
            (Tamper { counter: Some(1), ..Tamper::default() }, Tamper { counter: Some(0), ..Tamper::default() });
        // Each refused for its own reason (the log says which), in these AWS calls: the reads it got to and the marker.
        for (what, body, reason, calls) in [
            ("an unknown credential", signed(&env, &mut stranger, Tamper::default()).await, "an unknown credential", 2),
            ("a bad signature", signed(&env, &mut soft.clone(), bad_signature).await, "AuthenticationFailure", 3),
            ("no user verification", signed(&env, &mut unverified, Tamper::default()).await, "UserNotVerified", 3),
            ("another origin", wrong_origin, "InvalidRPOrigin", 3),
            ("another user's handle", other_handle, "the user handle is not the passkey's account's", 3),
            ("another user's key", other_key, "AuthenticationFailure", 3),
            ("no user handle", no_handle, "no user handle", 1),
            ("the counter did not grow", signed(&env, &mut soft.clone(), same).await, "the counter did not grow", 3),
            ("the counter went back to 0", signed(&env, &mut soft.clone(), zero).await, "the counter did not grow", 3),
        ] {
            let before = env.dump().await;
            env.keys().await;
            env.calls.reset();
            let (reply, logs) = testkit::with_logs(login(&env, body)).await;
            refused(&reply, what);
            assert!(logs.contains(reason), "{what}: refused for another reason: {logs}");
            let made = env.calls.take();
            assert_eq!(
                (made.len(), made.last().map(String::as_str)),
                (calls, Some("DynamoDB.TransactWriteItems")),
                "{what}"
            );
            only_the_marker(&env, &before, what).await;
        }
        assert_eq!(passkey_counter(&env.user(&user.id).await, &factor_id), stored, "nothing recorded on the passkey");
        assert_eq!(login(&env, signed(&env, &mut soft, Tamper::default()).await).await.status(), 200, "still works");
        assert_eq!(count(&env.dump().await, "SESSION#"), 2);
    }

    #[tokio::test]
    async fn a_removed_passkey_and_a_deleted_account_sign_in_no_more() {
        let env = TestEnv::new().await;
        // A removed passkey: its credential item went with it.
        let kit = env.enroll(&env.register(&unique_email("removed")).await).await;
        let (user, mut soft, factor_id) = env.add_passkey(&kit.user, Behaviour::default()).await;
        let factor = user.factor(&factor_id).unwrap().clone();
        let key = credential_key(factor.credential_id().unwrap());
        env.app.repo.commit(writes::remove_factor(&user, &factor, Some(&key))).await.unwrap();
        let before = env.dump().await;
        refused(&login(&env, signed(&env, &mut soft, Tamper::default()).await).await, "a removed passkey");
        only_the_marker(&env, &before, "a removed passkey").await;

        // A deleted account whose credential item is still there.
        let (gone, mut soft, _) = with_passkey(&env, "deleted", Behaviour::default()).await;
        let profile = HashMap::from([
            ("pk".to_string(), AttributeValue::S(format!("USER#{}", gone.id))),
            ("sk".to_string(), AttributeValue::S("PROFILE".into())),
        ]);
        let table = &env.app.config.table_name;
        env.inspect.dynamo.delete_item().table_name(table).set_key(Some(profile)).send().await.unwrap();
        let before = env.dump().await;
        refused(&login(&env, signed(&env, &mut soft, Tamper::default()).await).await, "a deleted account");
        only_the_marker(&env, &before, "a deleted account").await;
    }

    #[tokio::test]
    async fn an_account_changed_between_the_check_and_the_commit_opens_no_session() {
        let env = TestEnv::new().await;
        let (user, mut soft, _) = with_passkey(&env, "changed", Behaviour::default()).await;
        let body = signed(&env, &mut soft, Tamper::default()).await;
        // As if logout-all ran after this request read the profile: the version it read is gone.
        let stale = env.user(&user.id).await;
        env.app.repo.commit(writes::bump_version(&stale).into()).await.unwrap();
        let ceremony = env.keys().await.open_ceremony(SIGN_IN, body["ceremonyId"].as_str().unwrap(), 0).unwrap();
        let proof = Proof::Passkey { factor_id: stale.factors[0].id.clone(), counter: 1 };
        let commit = vec![
            writes::use_sealed_ceremony(&ceremony.key, ceremony.expires_at),
            writes::accept_code(&stale, &proof, env.app.now().timestamp(), None),
        ];
        assert!(matches!(env.app.repo.commit(commit).await, Err(ApiError::StaleVersion)));
        assert!(!env.dump().await.iter().any(|item| pk(item).starts_with("CEREMONY#")), "all or nothing");
        // Through the handler, the fresh profile is read and the sign-in works.
        assert_eq!(login(&env, body).await.status(), 200);
    }

    #[tokio::test]
    async fn hostile_assertions_are_401_use_their_ceremony_up_and_write_nothing_else() {
        let env = TestEnv::new().await;
        let (_, mut soft, _) = with_passkey(&env, "hostile", Behaviour::default()).await;
        let any = signed(&env, &mut soft.clone(), Tamper::default()).await;
        for case in 0..testkit::passkey::hostile_assertions(&any["credential"]).len() {
            // Each made from an assertion that would verify for its own ceremony.
            let valid = signed(&env, &mut soft.clone(), Tamper::default()).await;
            let (what, credential) = testkit::passkey::hostile_assertions(&valid["credential"]).swap_remove(case);
            let before = env.dump().await;
            let reply = login(&env, json!({ "ceremonyId": valid["ceremonyId"], "credential": credential })).await;
            refused(&reply, what);
            only_the_marker(&env, &before, what).await;
        }
        let valid = signed(&env, &mut soft, Tamper::default()).await;
        let before = env.dump().await;
        for (what, body) in [
            ("no ceremonyId", json!({ "credential": valid["credential"] })),
            ("no credential", json!({ "ceremonyId": valid["ceremonyId"] })),
            ("a numeric ceremonyId", json!({ "ceremonyId": 7, "credential": valid["credential"] })),
            (
                "an unknown field",
                json!({ "ceremonyId": valid["ceremonyId"], "credential": valid["credential"], "x": 1 }),
            ),
            ("an array", json!([valid])),
        ] {
            let reply = login(&env, body).await;
            assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()), "{what}");
        }
        let raw = |body: &str| call(&env, handle, event("passkey-login").raw_body(body).request());
        assert_eq!(raw("{\"ceremonyId\": \"\\ud800\"}").await.error(), "invalid_request", "a lone surrogate");
        let big = json!({ "ceremonyId": "a".repeat(20_000), "credential": {} }).to_string();
        assert_eq!(raw(&big).await.error(), "payload_too_large");
        let plain = event("passkey-login").header("content-type", Some("text/plain")).json(valid.clone());
        assert_eq!(call(&env, handle, plain.request()).await.error(), "unsupported_media_type");
        assert_eq!(env.dump().await, before, "bad bodies write nothing");
        assert_eq!(login(&env, valid).await.status(), 200, "the ceremony none of them used still works");
    }

    #[tokio::test]
    async fn dynamodb_failing_at_any_call_leaves_nothing_half_written() {
        // Failing at the credential's read, the profile's read, or the commit.
        for (passing, step) in [(0, "credential read"), (1, "profile read"), (2, "commit")] {
            for fault in [Fault::Refuse, Fault::Stall] {
                let (proxy, env) = testkit::behind_proxy().await;
                let (user, mut soft, factor_id) = with_passkey(&env, "fault", Behaviour::default()).await;
                let body = signed(&env, &mut soft, Tamper::default()).await;
                env.keys().await;
                let before = env.dump().await;
                proxy.fail_after(passing, fault);
                let reply = timed(&format!("passkey login, {step} {fault:?}"), login(&env, body.clone())).await;
                assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()), "{step}");
                assert!(reply.set_cookies().is_empty());
                proxy.set(Fault::None);
                assert_eq!(env.dump().await, before, "{step}: no session, no event, no marker, the counter as it was");
                assert_eq!(passkey_counter(&env.user(&user.id).await, &factor_id), (0, None));
                assert_eq!(login(&env, body).await.status(), 200, "{step}: the same ceremony works once AWS is back");
            }
        }
    }

    #[tokio::test]
    async fn one_passkey_assertion_raced_through_passkey_login_opens_one_session() {
        let env = TestEnv::new().await;
        // A synced passkey counts nothing: only the ceremony's marker stands between the ten.
        let (user, mut soft, _) = with_passkey(&env, "race", Behaviour { synced: true, ..Default::default() }).await;
        let body = signed(&env, &mut soft, Tamper::default()).await;
        let tries = (0..10).map(|_| login(&env, body.clone()));
        let replies = futures::future::join_all(tries).await;
        let statuses: Vec<(u16, String)> = replies.iter().map(|r| (r.status(), r.error())).collect();
        assert_eq!(statuses.iter().filter(|(s, _)| *s == 200).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|(s, e)| *s == 200 || e == "ceremony_expired"), "{statuses:?}");
        let items = env.dump().await;
        assert_eq!(count(&items, "SESSION#"), 1);
        let now = env.app.now().timestamp();
        let events = env.app.repo.recent_events(&user.id, now, 50).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == EventKind::PasskeyLogin).count(), 1);
    }

    #[tokio::test]
    async fn ten_clones_of_one_passkey_signing_in_at_once_with_one_counter_open_one_session() {
        let env = TestEnv::new().await;
        let (_, mut soft, _) = with_passkey(&env, "clones", Behaviour::default()).await;
        // Three rounds (how many read before the first commit varies): each
        // time ten copies of the authenticator, each on its own ceremony, all
        // reporting the same next counter.
        for round in 1..=3 {
            let mut bodies = Vec::new();
            for _ in 0..10 {
                bodies.push(signed(&env, &mut soft.clone(), Tamper::default()).await);
            }
            soft.counter += 1;
            let replies = futures::future::join_all(bodies.into_iter().map(|body| login(&env, body))).await;
            let statuses: Vec<(u16, String)> = replies.iter().map(|r| (r.status(), r.error())).collect();
            assert_eq!(statuses.iter().filter(|(s, _)| *s == 200).count(), 1, "round {round}: {statuses:?}");
            assert!(statuses.iter().all(|(s, e)| *s == 200 || e == "invalid_credentials"), "{statuses:?}");
            assert_eq!(count(&env.dump().await, "SESSION#"), round);
        }
    }

    #[test]
    fn the_sample_event_is_a_login_body() {
        let body: PasskeyProof = json_body(&event("passkey-login").request()).expect("the sample's body parses");
        assert!(!body.ceremony_id.is_empty() && body.credential.is_object());
    }
}
