//! Every route of the service, and for each one success request built on
//! fresh state: the accounts, factors, sessions and ceremonies it needs are
//! made with the test kit in the table the functions use, as the other
//! functions would have made them. Each call of [`Scenario::request`] makes
//! a new state, so a request that uses something up (a code, a link, a
//! ceremony) can be made again.

use serde_json::{Value, json};
use shared::domain::{CEREMONY_TTL_SECS, SecondFactor, SignIn};
use shared::flows::second_factor::purpose;
use shared::mail::{MailToken, RESET_TTL_SECS};
use shared::store::{CeremonyRecord, PendingToken, UserRecord, writes};
use testkit::passkey::{Behaviour, SoftPasskey, Tamper};
use testkit::{Event, FRONT_END_ORIGIN, PASSWORD, TestEnv, event, passkey_proof, unique_email};

/// One route: the function that serves it, what its success answers, and
/// DESIGN.md's budget ("Round trips"): the DynamoDB and KMS calls of its
/// success on a warm container, where the design sets one.
pub struct Route {
    pub scenario: Scenario,
    pub function: &'static str,
    pub route: &'static str,
    pub status: u16,
    pub budget: Option<usize>,
}

const fn route(
    scenario: Scenario,
    function: &'static str,
    route: &'static str,
    status: u16,
    budget: Option<usize>,
) -> Route {
    Route { scenario, function, route, status, budget }
}

use Scenario::*;

/// Every route, each function's first route first (its cold start is measured with it).
pub const ROUTES: &[Route] = &[
    route(Register, "register", "POST /auth/register", 201, None),
    route(LoginPassword, "login", "POST /auth/login (2FA off)", 200, Some(2)),
    route(LoginTwofa, "login", "POST /auth/login (2FA on)", 200, Some(2)),
    route(LoginRemembered, "login", "POST /auth/login (remembered browser)", 200, Some(2)),
    route(VerifyTotp, "twofa-verify-login", "POST /auth/2fa/verify-login (TOTP code)", 200, Some(2)),
    route(VerifyBackupCode, "twofa-verify-login", "POST /auth/2fa/verify-login (backup code)", 200, Some(2)),
    route(VerifyPasskey, "twofa-verify-login", "POST /auth/2fa/verify-login (passkey)", 200, Some(2)),
    route(Refresh, "refresh", "POST /auth/refresh", 200, Some(2)),
    route(Logout, "logout", "POST /auth/logout", 204, None),
    route(LogoutAll, "logout-all", "POST /auth/logout-all", 204, None),
    route(Me, "me", "GET /auth/me", 200, Some(1)),
    route(Audit, "audit", "GET /auth/audit", 200, None),
    route(TwofaStatus, "twofa-status", "GET /auth/2fa/status", 200, Some(1)),
    route(TwofaSetup, "twofa-setup", "POST /auth/2fa/setup", 200, None),
    route(TwofaEnable, "twofa-enable", "POST /auth/2fa/enable", 200, None),
    route(TwofaDisable, "twofa-disable", "POST /auth/2fa/disable", 200, None),
    route(BackupCodes, "twofa-backup-codes", "POST /auth/2fa/backup-codes", 200, None),
    route(Challenge, "twofa-challenge", "POST /auth/2fa/challenge (verify-login)", 200, None),
    route(EmailVerify, "email-verify", "POST /auth/email/verify", 200, None),
    route(EmailResend, "email-resend", "POST /auth/email/resend", 202, None),
    route(EmailChange, "email-change", "POST /auth/email/change", 202, None),
    route(AccountDelete, "account-delete", "POST /auth/account/delete", 200, None),
    route(PasswordForgot, "password-forgot", "POST /auth/password/forgot", 202, None),
    route(PasswordReset, "password-reset", "POST /auth/password/reset", 200, None),
    route(PasswordChange, "password-change", "POST /auth/password/change", 200, None),
    route(FactorsList, "factors-list", "GET /auth/factors", 200, Some(1)),
    route(FactorsRename, "factors-rename", "POST /auth/factors/rename", 200, None),
    route(FactorsRemove, "factors-remove", "POST /auth/factors/remove", 200, None),
    route(PasskeyOptions, "passkey-options", "POST /auth/factors/passkey/options", 200, None),
    route(PasskeyRegister, "passkey-register", "POST /auth/factors/passkey", 201, None),
    route(SignInOptions, "passkey-signin-options", "POST /auth/passkey/options", 200, None),
    route(PasskeyLogin, "passkey-login", "POST /auth/passkey/login", 200, Some(3)),
    route(Reauthenticate, "reauthenticate", "POST /auth/reauthenticate (TOTP code)", 200, None),
    route(SessionsList, "sessions-list", "GET /auth/sessions", 200, Some(1)),
    route(SessionsRevoke, "sessions-revoke", "POST /auth/sessions/revoke", 204, None),
    route(DevicesList, "devices-list", "GET /auth/devices", 200, Some(1)),
    route(DevicesForget, "devices-forget", "POST /auth/devices/forget", 204, None),
    route(Jwks, "jwks", "GET /.well-known/jwks.json", 200, None),
    route(OpenidConfiguration, "openid-configuration", "GET /.well-known/openid-configuration", 200, None),
    route(Authorizer, "authorizer", "authorizer (another API's route)", 200, None),
];

/// The routes of `function`, its first route first.
pub fn of(function: &str) -> Vec<&'static Route> {
    ROUTES.iter().filter(|route| route.function == function).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Register,
    LoginPassword,
    LoginTwofa,
    LoginRemembered,
    VerifyTotp,
    VerifyBackupCode,
    VerifyPasskey,
    Refresh,
    Logout,
    LogoutAll,
    Me,
    Audit,
    TwofaStatus,
    TwofaSetup,
    TwofaEnable,
    TwofaDisable,
    BackupCodes,
    Challenge,
    EmailVerify,
    EmailResend,
    EmailChange,
    AccountDelete,
    PasswordForgot,
    PasswordReset,
    PasswordChange,
    FactorsList,
    FactorsRename,
    FactorsRemove,
    PasskeyOptions,
    PasskeyRegister,
    SignInOptions,
    PasskeyLogin,
    Reauthenticate,
    SessionsList,
    SessionsRevoke,
    DevicesList,
    DevicesForget,
    Jwks,
    OpenidConfiguration,
    Authorizer,
}

const NEW_PASSWORD: &str = "a brand new passphrase";

fn credentials(user: &UserRecord) -> Value {
    json!({ "email": user.email.as_str(), "password": PASSWORD })
}

/// A request of `function` with the caller's access token.
fn signed_in(function: &str, access_token: &str) -> Event {
    event(function).cookie("access_token", access_token)
}

impl Scenario {
    /// The event (as API Gateway sends it) of one success request, on state made for it now.
    pub async fn request(self, env: &TestEnv) -> String {
        self.event(env).await.to_json()
    }

    async fn event(self, env: &TestEnv) -> Event {
        match self {
            Register => event("register").json(json!({ "email": unique_email("new"), "password": PASSWORD })),
            LoginPassword => event("login").json(credentials(&plain(env).await)),
            LoginTwofa => event("login").json(credentials(&enrolled(env).await.user)),
            LoginRemembered => {
                let kit = enrolled(env).await;
                let device = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
                event("login").cookie("device_token", &device).json(credentials(&kit.user))
            }
            VerifyTotp => {
                let kit = enrolled(env).await;
                let body = json!({ "code": env.code(&kit.secret) });
                event("twofa-verify-login").cookie("twofa_token", &env.pre2fa(&kit.user).await).json(body)
            }
            VerifyBackupCode => {
                let kit = enrolled(env).await;
                let body = json!({ "backupCode": kit.backup_codes[0] });
                event("twofa-verify-login").cookie("twofa_token", &env.pre2fa(&kit.user).await).json(body)
            }
            VerifyPasskey => {
                let (user, mut passkey, _) = env.add_passkey(&plain(env).await, Behaviour::default()).await;
                let (ceremony, options) = env.passkey_challenge(&user, purpose::VERIFY_LOGIN).await;
                let body = json!({ "passkey": passkey_proof(&mut passkey, &ceremony, &options, Tamper::default()) });
                event("twofa-verify-login").cookie("twofa_token", &env.pre2fa(&user).await).json(body)
            }
            Refresh => {
                let session = env.sign_in(&plain(env).await, None).await;
                event("refresh").cookie("refresh_token", &session.refresh_token)
            }
            Logout => {
                let session = env.sign_in(&plain(env).await, None).await;
                event("logout").cookies(&[
                    format!("access_token={}", session.access_token),
                    format!("refresh_token={}", session.refresh_token),
                ])
            }
            LogoutAll => signed_in("logout-all", &env.sign_in(&plain(env).await, None).await.access_token),
            Me => signed_in("me", &env.sign_in(&plain(env).await, None).await.access_token),
            Audit => signed_in("audit", &env.sign_in(&plain(env).await, None).await.access_token),
            TwofaStatus => {
                let kit = enrolled(env).await;
                signed_in("twofa-status", &env.sign_in(&kit.user, Some(SecondFactor::Totp)).await.access_token)
            }
            TwofaSetup => signed_in("twofa-setup", &env.sign_in(&verified(env).await, None).await.access_token),
            TwofaEnable => {
                let user = verified(env).await;
                let session = env.sign_in(&user, None).await;
                let secret = env.start_setup(&user).await;
                signed_in("twofa-enable", &session.access_token).json(json!({ "code": env.code(&secret) }))
            }
            TwofaDisable => {
                let kit = enrolled(env).await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                signed_in("twofa-disable", &session.access_token).json(json!({ "code": env.code(&kit.secret) }))
            }
            BackupCodes => {
                let kit = enrolled(env).await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                signed_in("twofa-backup-codes", &session.access_token).json(json!({ "code": env.code(&kit.secret) }))
            }
            Challenge => {
                let (user, _, _) = env.add_passkey(&plain(env).await, Behaviour::default()).await;
                event("twofa-challenge").cookie("twofa_token", &env.pre2fa(&user).await)
            }
            EmailVerify => {
                let (_, token) = env.register_with_token(&unique_email("verify")).await;
                event("email-verify").json(json!({ "token": token.for_link() }))
            }
            EmailResend => signed_in("email-resend", &env.sign_in(&plain(env).await, None).await.access_token),
            EmailChange => {
                let session = env.sign_in(&verified(env).await, None).await;
                signed_in("email-change", &session.access_token).json(json!({ "newEmail": unique_email("moved") }))
            }
            AccountDelete => {
                let kit = env.enroll(&verified(env).await).await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                signed_in("account-delete", &session.access_token).json(json!({ "email": kit.user.email.as_str() }))
            }
            PasswordForgot => event("password-forgot").json(json!({ "email": plain(env).await.email.as_str() })),
            PasswordReset => {
                let user = plain(env).await;
                let token = MailToken::generate(&user.id);
                let pending =
                    PendingToken { hash: token.hash(), expires_at: env.app.now().timestamp() + RESET_TTL_SECS };
                env.app.repo.commit(vec![writes::start_reset(&user.id, &pending)]).await.expect("a reset link");
                event("password-reset").json(json!({ "token": token.for_link(), "password": NEW_PASSWORD }))
            }
            PasswordChange => {
                let kit = enrolled(env).await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                let body = json!({ "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD });
                signed_in("password-change", &session.access_token).json(body)
            }
            FactorsList => {
                let kit = enrolled(env).await;
                signed_in("factors-list", &env.sign_in(&kit.user, Some(SecondFactor::Totp)).await.access_token)
            }
            FactorsRename => {
                let kit = enrolled(env).await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                let body = json!({ "factorId": kit.factor_id, "name": "Work phone" });
                signed_in("factors-rename", &session.access_token).json(body)
            }
            FactorsRemove => {
                let kit = env.enroll(&verified(env).await).await;
                let (user, _, passkey) = env.add_passkey(&kit.user, Behaviour::default()).await;
                let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
                signed_in("factors-remove", &session.access_token).json(json!({ "factorId": passkey }))
            }
            PasskeyOptions => {
                let session = env.sign_in(&verified(env).await, None).await;
                signed_in("passkey-options", &session.access_token).json(json!({ "name": "Phone" }))
            }
            PasskeyRegister => {
                let user = verified(env).await;
                let session = env.sign_in(&user, None).await;
                let (ceremony, options) = registration(env, &user).await;
                let (_, credential) = SoftPasskey::register(&options, FRONT_END_ORIGIN, Behaviour::default());
                let body = json!({ "ceremonyId": ceremony, "credential": credential, "name": "Laptop" });
                signed_in("passkey-register", &session.access_token).json(body)
            }
            SignInOptions => event("passkey-signin-options"),
            PasskeyLogin => {
                let (_, mut passkey, _) = env.add_passkey(&plain(env).await, Behaviour::default()).await;
                let (ceremony, options) = sign_in_ceremony(env).await;
                event("passkey-login").json(passkey_proof(&mut passkey, &ceremony, &options, Tamper::default()))
            }
            Reauthenticate => {
                let kit = enrolled(env).await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                signed_in("reauthenticate", &session.access_token).json(json!({ "code": env.code(&kit.secret) }))
            }
            SessionsList => {
                let user = plain(env).await;
                env.sign_in(&user, None).await;
                signed_in("sessions-list", &env.sign_in(&user, None).await.access_token)
            }
            SessionsRevoke => {
                let user = plain(env).await;
                let other = env.sign_in(&user, None).await;
                let body = json!({ "sessionId": other.record.session_id });
                signed_in("sessions-revoke", &env.sign_in(&user, None).await.access_token).json(body)
            }
            DevicesList => {
                let kit = enrolled(env).await;
                let device = env.remember_device(&kit.user, "Firefox 140 on Linux").await;
                let session = env.sign_in(&kit.user, SignIn::RememberedDevice).await;
                event("devices-list")
                    .cookies(&[format!("access_token={}", session.access_token), format!("device_token={device}")])
            }
            DevicesForget => {
                let kit = enrolled(env).await;
                let other = env.remember_device(&kit.user, "Safari 18 on iOS").await;
                let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
                let id = shared::crypto::DeviceToken::parse(&other).expect("a device token").id();
                signed_in("devices-forget", &session.access_token).json(json!({ "deviceId": id }))
            }
            Jwks => event("jwks"),
            OpenidConfiguration => event("openid-configuration"),
            Authorizer => {
                let kit = enrolled(env).await;
                signed_in("authorizer", &env.sign_in(&kit.user, Some(SecondFactor::Totp)).await.access_token)
            }
        }
    }
}

/// A new account, 2FA off, its email not verified.
async fn plain(env: &TestEnv) -> UserRecord {
    env.register(&unique_email("plain")).await
}

/// A new account, 2FA off, its email verified.
async fn verified(env: &TestEnv) -> UserRecord {
    env.register_verified(&unique_email("verified")).await
}

/// A new account with an authenticator app (and backup codes).
async fn enrolled(env: &TestEnv) -> testkit::Enrolled {
    env.enroll(&plain(env).await).await
}

/// A passkey registration's ceremony, as `factors/passkey/options` keeps it: its id and the creation options.
async fn registration(env: &TestEnv, user: &UserRecord) -> (String, Value) {
    let now = env.app.now().timestamp();
    let (handle, new_handle) = shared::flows::factors::passkey_user_handle(user).expect("a user handle");
    let existing = shared::flows::factors::stored_passkeys(user);
    let started = env.fixtures.passkeys.start_registration(handle, user.email.as_str(), &existing).expect("options");
    let id = shared::crypto::random_id();
    let ceremony = CeremonyRecord {
        purpose: purpose::REGISTRATION.into(),
        state: started.state,
        expires_at: now + CEREMONY_TTL_SECS,
        name: None,
    };
    let keep = writes::start_ceremony(user, &id, &ceremony, new_handle.as_deref(), now);
    env.app.repo.commit(vec![keep]).await.expect("keep the ceremony");
    (id, started.public_key)
}

/// A passkey sign-in's ceremony, as `passkey/options` makes it: the sealed id and the request options.
async fn sign_in_ceremony(env: &TestEnv) -> (String, Value) {
    let started = env.fixtures.passkeys.start_sign_in().expect("options");
    let keys = env.fixtures.keyring.keys().await.expect("keyring");
    let expires_at = env.app.now().timestamp() + CEREMONY_TTL_SECS;
    (keys.seal_ceremony(shared::factors::passkey::SIGN_IN, &started.state, expires_at), started.public_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_a_route_and_every_route_a_function() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions");
        let mut functions: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        functions.sort();
        let mut routed: Vec<String> = ROUTES.iter().map(|route| route.function.to_string()).collect();
        routed.sort();
        routed.dedup();
        assert_eq!(routed, functions);
    }
}
