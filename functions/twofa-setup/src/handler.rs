//! `POST /auth/2fa/setup`: a new secret for an authenticator app: the first
//! factor (2FA off: a verified email needed) or a further one (2FA on: an
//! aal-2 session); either way a recent proof. The server keeps it sealed for
//! ten minutes; the client never sends it back.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::{ClientInfo, EventKind, FactorName};
use shared::factors::totp::{self, SETUP_TTL_SECS, TotpSecret};
use shared::http::{AdminRule, NameBody, authenticate, json_response, optional_json_body};
use shared::store::writes;
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let user = &caller.user;
    if user.twofa_enabled() {
        caller.require_aal2()?;
    }
    let body: NameBody = optional_json_body(&req)?;
    let name = body.name.as_deref().map(FactorName::parse).transpose()?;
    caller.may_add_factor(app.now().timestamp())?;

    let keys = app.keyring.keys().await?;
    let secret = TotpSecret::generate();
    // Everything that can fail is built before anything is written.
    let otpauth_url = totp::otpauth_url(&app.config.issuer, user.email.as_str(), &secret);
    let body = json!({
        "secret": secret.to_base32(),
        "qrCode": totp::qr_data_url(&otpauth_url)?,
        "otpauthUrl": otpauth_url,
    });
    let now = app.now();
    let sealed = keys.seal_totp_secret(&user.id, secret.bytes());
    let name = name.as_ref().map(FactorName::as_str);
    let mut commit = vec![writes::start_setup(user, sealed, now.timestamp() + SETUP_TTL_SECS, name)];
    commit.extend(writes::audit(&user.id, &[EventKind::TwofaSetup], now.timestamp_millis(), &ClientInfo::of(&req)));
    app.repo.commit(commit).await?;
    Ok(json_response(StatusCode::OK, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use testkit::{TestEnv, call, event};

    fn decode_qr(data_url: &str) -> String {
        let png = base64::engine::general_purpose::STANDARD
            .decode(data_url.strip_prefix("data:image/png;base64,").expect("a PNG data URL"))
            .unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[tokio::test]
    async fn setup_returns_a_scannable_secret_and_keeps_it_sealed() {
        let env = TestEnv::new().await;
        let user = env.register_verified("scan@example.com").await;
        let session = env.sign_in(&user, None).await;
        let reply =
            call(&env, handle, event("twofa-setup").cookie("access_token", &session.access_token).request()).await;
        assert_eq!(reply.status(), 200);
        let body = reply.json();
        let secret = body["secret"].as_str().unwrap();
        assert_eq!(TotpSecret::from_base32(secret).unwrap().bytes().len(), 20, "160-bit secret");
        assert_eq!(
            body["otpauthUrl"],
            format!(
                "otpauth://totp/TwoFA%20Test:scan@example.com?secret={secret}&issuer=TwoFA%20Test\
                 &algorithm=SHA1&digits=6&period=30"
            )
        );
        assert_eq!(decode_qr(body["qrCode"].as_str().unwrap()), body["otpauthUrl"].as_str().unwrap());

        let stored = env.user(&user.id).await;
        let pending = stored.pending.expect("a pending setup");
        assert_eq!(pending.expires_at, env.app.now().timestamp() + 600);
        assert!(!env.table_contains(secret.as_bytes()).await);
        assert!(!env.table_contains(TotpSecret::from_base32(secret).unwrap().bytes()).await);
    }

    #[tokio::test]
    async fn a_new_setup_replaces_the_pending_secret() {
        let env = TestEnv::new().await;
        let user = env.register_verified("again@example.com").await;
        let session = env.sign_in(&user, None).await;
        let req = || event("twofa-setup").cookie("access_token", &session.access_token).request();
        let first = call(&env, handle, req()).await.json()["secret"].clone();
        let second = call(&env, handle, req()).await.json()["secret"].clone();
        assert_ne!(first, second);
        let keys = env.keys().await;
        let pending = env.user(&user.id).await.pending.unwrap();
        let kept = keys.open_totp_secret(&user.id, &pending.sealed_secret).unwrap();
        assert_eq!(kept.to_base32(), second.as_str().unwrap());
    }

    #[tokio::test]
    async fn with_2fa_on_it_prepares_a_further_app_for_an_aal2_session_only() {
        let env = TestEnv::new().await;
        let enrolled = env.enroll(&env.register("on@example.com").await).await;
        let aal1 = env.sign_in(&enrolled.user, None).await;
        let refused =
            call(&env, handle, event("twofa-setup").cookie("access_token", &aal1.access_token).request()).await;
        assert_eq!((refused.status(), refused.error()), (403, "mfa_required".into()));
        let aal2 = env.sign_in(&enrolled.user, Some(shared::domain::SecondFactor::Totp)).await;
        let named = event("twofa-setup").cookie("access_token", &aal2.access_token).json(json!({ "name": "Tablet" }));
        let reply = call(&env, handle, named.request()).await;
        assert_eq!(reply.status(), 200);
        assert!(reply.json()["secret"].is_string());
        let stored = env.user(&enrolled.user.id).await;
        assert_eq!(stored.pending.unwrap().name.as_deref(), Some("Tablet"));
        assert_eq!(stored.version, enrolled.user.version, "no session ended");
    }

    #[tokio::test]
    async fn turning_2fa_on_needs_a_verified_email_and_a_recent_proof() {
        let env = TestEnv::new().await;
        let squatter = env.register("not-mine@example.com").await;
        let session = env.sign_in(&squatter, None).await;
        let setup = |token: &str| event("twofa-setup").cookie("access_token", token).request();
        let refused = call(&env, handle, setup(&session.access_token)).await;
        assert_eq!((refused.status(), refused.error()), (403, "email_unverified".into()));
        let owner = env.mark_verified(&squatter).await;
        env.clock.advance(chrono::Duration::minutes(11));
        let old = env.sign_in(&owner, None).await;
        env.clock.advance(chrono::Duration::minutes(11));
        let stale = call(&env, handle, setup(&old.access_token)).await;
        assert_eq!((stale.status(), stale.error()), (401, "reauthentication_required".into()));
        assert_eq!(
            stale.header("www-authenticate"),
            Some("Bearer error=\"insufficient_user_authentication\", max_age=600")
        );
        assert!(env.user(&owner.id).await.pending.is_none(), "nothing changed");
    }

    #[tokio::test]
    async fn a_qr_code_that_cannot_be_drawn_fails_before_anything_is_written() {
        // Registration refuses such an address now; an account made before that still exists.
        let env = TestEnv::new().await;
        let user = env.register_verified(&format!("{}@{}.de", "😀".repeat(64), "😀".repeat(132))).await;
        let session = env.sign_in(&user, None).await;
        let before = env.dump().await;
        let reply =
            call(&env, handle, event("twofa-setup").cookie("access_token", &session.access_token).request()).await;
        assert_eq!((reply.status(), reply.error()), (500, "internal".into()));
        assert_eq!(env.dump().await, before, "no pending secret, no event");
    }

    #[tokio::test]
    async fn without_a_session_it_is_401() {
        let env = TestEnv::new().await;
        assert_eq!(call(&env, handle, event("twofa-setup").cookies::<&str>(&[]).request()).await.status(), 401);
    }
}
