//! Issuing sessions: a session item, an access token and a refresh token.

use crate::app::{App, Issuer};
use crate::crypto::KeySet;
use crate::crypto::random_id;
use crate::domain::{ACCESS_TTL_SECS, ClientInfo, PRE2FA_TTL_SECS, REFRESH_TTL_SECS, Role, SignIn, TokenKind};
use crate::error::ApiError;
use crate::store::{SessionRecord, Write, writes};
use crate::tokens::{self, AccessClaims, Pre2faClaims, RefreshClaims, Registered};

/// Who a session is for, as of the token version it was issued under.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub user_id: &'a str,
    pub role: Role,
    pub version: i64,
}

/// A new session, ready to be committed with the rest of the use case.
pub struct NewSession {
    pub record: SessionRecord,
    pub access_token: String,
    pub refresh_token: String,
}

impl NewSession {
    /// A session opened by `sign_in` (a password alone is aal 1, anything
    /// more aal 2), for the client that signed in. `auth_time` is when the
    /// credentials were last checked, `started_at` the sign-in its 30 days
    /// count from (both now for a new sign-in).
    pub fn issue(
        app: &App,
        issuer: &Issuer<'_>,
        subject: Subject<'_>,
        sign_in: impl Into<SignIn>,
        (auth_time, started_at): (i64, i64),
        client: &ClientInfo,
    ) -> Result<Self, ApiError> {
        let sign_in = sign_in.into();
        let now = app.now().timestamp();
        let record = SessionRecord {
            user_id: subject.user_id.to_string(),
            session_id: random_id(),
            refresh_id: random_id(),
            refresh_issued_at: now,
            previous_refresh_id: None,
            rotated_at: None,
            aal: sign_in.aal(),
            amr: sign_in.amr(),
            auth_time,
            started_at,
            expires_at: now + REFRESH_TTL_SECS,
            ip: client.ip.clone(),
            device: client.device(),
            reauthenticated_at: None,
            version: Some(subject.version),
        };
        Ok(NewSession {
            access_token: access_token(app, issuer, &record, subject.role, subject.version, now)?,
            refresh_token: refresh_token(app, issuer.keys, &record, subject.version),
            record,
        })
    }

    /// The caller's session again, under a new token version (a change that
    /// ends every other session): the same methods, proof and 30-day end.
    pub fn successor(
        app: &App,
        issuer: &Issuer<'_>,
        subject: Subject<'_>,
        of: &SessionRecord,
        client: &ClientInfo,
    ) -> Result<Self, ApiError> {
        let sign_in = SignIn::of_amr(&of.amr).ok_or_else(|| ApiError::internal("a session's amr is unknown"))?;
        let mut session = Self::issue(app, issuer, subject, sign_in, (of.auth_time, of.started_at), client)?;
        session.record.reauthenticated_at = of.reauthenticated_at;
        Ok(session)
    }

    pub fn write(&self) -> Write {
        writes::create_session(&self.record)
    }
}

/// A fresh access token for a session (RS256, the issuer URL and audience of
/// this deployment, a unique `jti`, the session's assurance as `scope`).
pub fn access_token(
    app: &App,
    issuer: &Issuer<'_>,
    session: &SessionRecord,
    role: Role,
    version: i64,
    now: i64,
) -> Result<String, ApiError> {
    let claims = AccessClaims {
        reg: Registered {
            iss: issuer.url.clone(),
            aud: app.config.audience.clone(),
            sub: session.user_id.clone(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TTL_SECS,
        },
        sid: session.session_id.clone(),
        role,
        aal: session.aal,
        amr: session.amr.clone(),
        auth_time: session.auth_time,
        ver: version,
        jti: random_id(),
        scope: AccessClaims::scope_of(session.aal),
    };
    tokens::sign_access(issuer.keys, &issuer.signing, &claims, now)
}

/// The session's current refresh token. Signing is deterministic, so the same
/// session state always yields the same token (the 10-second grace relies on it).
pub fn refresh_token(app: &App, keys: &KeySet, session: &SessionRecord, version: i64) -> String {
    tokens::sign(
        keys,
        &RefreshClaims {
            reg: Registered::new(
                TokenKind::Refresh,
                &app.config.issuer,
                &session.user_id,
                session.refresh_issued_at,
                session.refresh_ttl(),
            ),
            sid: session.session_id.clone(),
            jti: session.refresh_id.clone(),
            ver: version,
        },
    )
}

/// A pre-2FA token: issued after the password, good for one successful
/// verification within five minutes.
pub fn pre2fa_token(app: &App, keys: &KeySet, user_id: &str, version: i64, now: i64) -> (Pre2faClaims, String) {
    let claims = Pre2faClaims {
        reg: Registered::new(TokenKind::Pre2fa, &app.config.issuer, user_id, now, PRE2FA_TTL_SECS),
        jti: random_id(),
        ver: version,
    };
    let token = tokens::sign(keys, &claims);
    (claims, token)
}
