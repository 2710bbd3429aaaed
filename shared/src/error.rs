//! The one error type of the service: each way a request fails, with its
//! status, the contract's error code and a sentence for a person.

use lambda_http::http::StatusCode;

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Every way a request can fail. Each variant owns its status code and the
/// contract's error code; internal causes are logged once, never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid code")]
    InvalidCode,
    /// A conditional write found the TOTP step already used.
    #[error("code replayed")]
    CodeReplayed,
    #[error("setup expired")]
    SetupExpired,
    /// A mailed link's token: unknown, expired, used or malformed.
    #[error("invalid token")]
    InvalidToken,
    /// A password reset for an account with 2FA came without a code.
    #[error("second factor required")]
    SecondFactorRequired,
    #[error("email already verified")]
    EmailAlreadyVerified,
    #[error("unauthorized")]
    Unauthorized,
    /// A conditional write found the token version changed since it was read.
    #[error("stale token version")]
    StaleVersion,
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A passkey sign-in refused: an unknown credential or a failed check, alike.
    #[error("passkey not accepted")]
    PasskeyNotAccepted,
    #[error("session expired")]
    SessionExpired,
    /// A conditional put found the pre-2FA token's nonce already consumed.
    #[error("pre-2FA token already used")]
    TokenAlreadyUsed,
    #[error("second factor required")]
    MfaRequired,
    #[error("email taken")]
    EmailTaken,
    #[error("2FA already enabled")]
    TwofaAlreadyEnabled,
    #[error("2FA not enabled")]
    TwofaNotEnabled,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A `POST` from a page of another origin than the front end's or the API's own.
    #[error("forbidden origin")]
    ForbiddenOrigin,
    /// The route needs a proof of at most 10 minutes ago (RFC 9470).
    #[error("reauthentication required")]
    ReauthenticationRequired,
    /// Turning 2FA on needs a verified email.
    #[error("email not verified")]
    EmailUnverified,
    #[error("too many factors")]
    TooManyFactors,
    #[error("last factor")]
    LastFactor,
    #[error("factor not found")]
    FactorNotFound,
    /// A session id that is not one of the caller's live sessions.
    #[error("session not found")]
    SessionNotFound,
    /// A remembered device that is not one of the caller's.
    #[error("device not found")]
    DeviceNotFound,
    #[error("no passkey")]
    NoPasskey,
    /// A WebAuthn ceremony that is unknown, used, expired, or of another user or purpose.
    #[error("ceremony expired")]
    CeremonyExpired,
    /// A WebAuthn response that does not verify (signature, challenge, origin, flags, format, counter).
    #[error("invalid credential")]
    InvalidCredential,
    /// A passkey's credential id that another account (or factor) already holds.
    #[error("credential in use")]
    CredentialInUse,
    #[error("too many attempts, retry after {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    #[error("dependency unavailable: {0}")]
    Unavailable(#[source] Cause),
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

/// Seconds a client should wait before retrying after a 503.
const UNAVAILABLE_RETRY_AFTER: u64 = 2;

impl ApiError {
    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::InvalidRequest(detail.into())
    }

    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        Self::Unavailable(cause.into())
    }

    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            InvalidRequest(_) | InvalidCode | CodeReplayed | SetupExpired | InvalidToken | SecondFactorRequired
            | CeremonyExpired | InvalidCredential => StatusCode::BAD_REQUEST,
            Unauthorized
            | StaleVersion
            | InvalidCredentials
            | PasskeyNotAccepted
            | SessionExpired
            | TokenAlreadyUsed
            | ReauthenticationRequired => StatusCode::UNAUTHORIZED,
            MfaRequired | ForbiddenOrigin | EmailUnverified => StatusCode::FORBIDDEN,
            FactorNotFound | SessionNotFound | DeviceNotFound => StatusCode::NOT_FOUND,
            EmailTaken | TwofaAlreadyEnabled | TwofaNotEnabled | EmailAlreadyVerified | TooManyFactors | LastFactor
            | NoPasskey | CredentialInUse => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's `error` code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            InvalidRequest(_) => "invalid_request",
            InvalidCode | CodeReplayed => "invalid_code",
            SetupExpired => "setup_expired",
            InvalidToken => "invalid_token",
            SecondFactorRequired => "second_factor_required",
            EmailAlreadyVerified => "email_already_verified",
            Unauthorized | StaleVersion => "unauthorized",
            InvalidCredentials | PasskeyNotAccepted => "invalid_credentials",
            SessionExpired | TokenAlreadyUsed => "session_expired",
            MfaRequired => "mfa_required",
            EmailTaken => "email_taken",
            TwofaAlreadyEnabled => "twofa_already_enabled",
            TwofaNotEnabled => "twofa_not_enabled",
            PayloadTooLarge => "payload_too_large",
            UnsupportedMediaType => "unsupported_media_type",
            ForbiddenOrigin => "forbidden_origin",
            ReauthenticationRequired => "reauthentication_required",
            EmailUnverified => "email_unverified",
            TooManyFactors => "too_many_factors",
            LastFactor => "last_factor",
            FactorNotFound => "factor_not_found",
            SessionNotFound => "session_not_found",
            DeviceNotFound => "device_not_found",
            NoPasskey => "no_passkey",
            CeremonyExpired => "ceremony_expired",
            InvalidCredential => "invalid_credential",
            CredentialInUse => "credential_in_use",
            TooManyAttempts { .. } => "too_many_attempts",
            Unavailable(_) => "service_unavailable",
            Internal(_) => "internal",
        }
    }

    /// A plain sentence for a person; never an internal detail.
    pub fn message(&self) -> String {
        use ApiError::*;
        match self {
            InvalidRequest(detail) => format!("The request is invalid: {detail}."),
            InvalidCode | CodeReplayed => "The code is wrong or was already used.".into(),
            SetupExpired => "No 2FA setup is pending, or it expired. Start the setup again.".into(),
            InvalidToken => "This link is invalid, expired or already used. Ask for a new one.".into(),
            SecondFactorRequired => {
                "This account uses two-factor authentication: prove it with a code from your authenticator app, a passkey or a backup code."
                    .into()
            }
            EmailAlreadyVerified => "This email address is already verified.".into(),
            Unauthorized | StaleVersion => "Sign in to continue.".into(),
            InvalidCredentials => "The email or password is wrong.".into(),
            PasskeyNotAccepted => "This passkey is not registered here, or it could not be verified.".into(),
            SessionExpired | TokenAlreadyUsed => "The sign-in step expired. Sign in again with your password.".into(),
            MfaRequired => "Turn on two-factor authentication to continue.".into(),
            EmailTaken => "An account with this email already exists.".into(),
            TwofaAlreadyEnabled => "Two-factor authentication is already on.".into(),
            TwofaNotEnabled => "Two-factor authentication is not on.".into(),
            PayloadTooLarge => "The request body is too large.".into(),
            UnsupportedMediaType => "Send the body as application/json.".into(),
            ForbiddenOrigin => "Requests from this site are not accepted.".into(),
            ReauthenticationRequired => "Confirm it's you: prove your second factor (or password) again.".into(),
            EmailUnverified => "Verify your email address first: we sent you a link.".into(),
            TooManyFactors => "You already have 5 second factors. Remove one to add another.".into(),
            LastFactor => "This is your last second factor. Turn two-factor authentication off instead.".into(),
            FactorNotFound => "There is no such second factor.".into(),
            SessionNotFound => "There is no such session: it may have ended already.".into(),
            DeviceNotFound => "There is no such remembered browser.".into(),
            NoPasskey => "This account has no passkey.".into(),
            CeremonyExpired => "This passkey request expired or was already used. Start again.".into(),
            InvalidCredential => "The passkey could not be verified.".into(),
            CredentialInUse => "This passkey is already registered.".into(),
            TooManyAttempts { .. } => "Too many attempts. Try again later.".into(),
            Unavailable(_) => "The service is briefly unavailable. Try again.".into(),
            Internal(_) => "Something went wrong on our side.".into(),
        }
    }

    /// The `Retry-After` seconds of a `429` or a `503`.
    pub(crate) fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooManyAttempts { retry_after } => Some(*retry_after),
            ApiError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        }
    }
}

/// Formats an error with all its sources, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
