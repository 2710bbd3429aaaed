//! Accounts: creating one (the register route and fixtures share it), refusing
//! a wrong password alike for every address, the mail anyone can trigger, and
//! deleting one.

use crate::app::App;
use crate::crypto::random_id;
use crate::domain::{ClientInfo, Email, EventKind, Password};
use crate::error::{ApiError, ErrorChain};
use crate::factors::passkey::credential_key;
use crate::factors::password;
use crate::mail::{Mail, MailToken, VERIFY_TTL_SECS};
use crate::store::{LoginRecord, PASSWORD_LIMIT, PendingToken, UserRecord, Write, writes};

/// A new account, and the token of its verification link (to be mailed).
pub struct NewAccount {
    pub user_id: String,
    pub verification: MailToken,
}

/// Hashes the password and writes the login item (unique per email, by
/// condition), the profile (with the verification token's hash) and a
/// `register` event in one transaction.
pub async fn create(
    app: &App,
    email: &Email,
    password: &Password,
    client: &ClientInfo,
) -> Result<NewAccount, ApiError> {
    let password_hash = password::hash(password).await?;
    let user_id = random_id();
    let verification = MailToken::generate(&user_id);
    let now = app.now();
    let pending = PendingToken { hash: verification.hash(), expires_at: now.timestamp() + VERIFY_TTL_SECS };
    let mut account: Vec<Write> =
        writes::create_account(&user_id, email, &password_hash, now.timestamp(), &pending).into();
    account.extend(writes::audit(&user_id, &[EventKind::Register], now.timestamp_millis(), client));
    app.repo.commit(account).await?;
    Ok(NewAccount { user_id, verification })
}

/// Answers whose work depends on whether an account has the address come
/// this long after the request arrived, so that the time tells nothing.
pub const FIXED_ANSWER: std::time::Duration = std::time::Duration::from_millis(500);

/// A wrong password (or an unknown email): `401 invalid_credentials` after the
/// same work either way. For an account: its `login_failed` event, and
/// `lockout` with its notice when this used up the limit; for an unknown
/// email: letting its orphan counter expire. The attempt that uses up the
/// limit mails a notice for an account only, so it is answered at
/// [`FIXED_ANSWER`] after `arrived`, account or not.
pub async fn refuse_password(
    app: &App,
    email: &Email,
    login: &LoginRecord,
    client: &ClientInfo,
    arrived: tokio::time::Instant,
) -> ApiError {
    let locks_out = login.attempts >= PASSWORD_LIMIT.max;
    let now_millis = app.now().timestamp_millis();
    let recorded = match &login.account {
        Some(account) => {
            let mut events = vec![EventKind::LoginFailed];
            if locks_out {
                events.push(EventKind::Lockout);
            }
            let mut record = writes::audit(&account.user_id, &events, now_millis, client);
            record.push(writes::account_exists(&account.user_id));
            match app.repo.commit(record).await {
                Ok(()) => {
                    app.mailer.notify(&account.email, &events, now_millis, client, None).await;
                    Ok(())
                }
                // Deleted since the attempt was counted: as for an unknown email, nothing is logged.
                Err(ApiError::Unauthorized) => Ok(()),
                Err(err) => Err(err),
            }
        }
        None => app.repo.expire_login_counter(email, login.window_start + PASSWORD_LIMIT.window_secs).await,
    };
    if locks_out {
        tokio::time::sleep_until(arrived + FIXED_ANSWER).await;
    }
    match recorded {
        Ok(()) => ApiError::InvalidCredentials,
        Err(err) => err,
    }
}

/// Sends a mail that anyone can trigger without an account (a sign-up's
/// verification, a reset link) if this minute's shared budget has room. A
/// spent budget is logged and counted, and the mail is not sent; the caller
/// answers as it would have (the contract's answers do not change), and
/// security notices, which do not come through here, keep SES's rate.
pub async fn send_anonymous_mail(app: &App, to: &Email, mail: Mail) {
    let budget = app.config.mail.anonymous_per_minute;
    match app.repo.take_anonymous_mail(app.now().timestamp(), budget).await {
        Ok(true) => app.mailer.send_or_log(to, mail).await,
        Ok(false) => tracing::warn!(budget, subject = mail.subject, "anonymous mail budget spent"),
        Err(err) => {
            tracing::error!(error = %ErrorChain(&err), subject = mail.subject, "mail not sent")
        }
    }
}

/// Deletes `user`'s account as read at authentication: its profile, login
/// item and passkeys' credential ids in one transaction (from then on every
/// token of it is refused, its address and credential ids are free), then
/// every other item of its partition. A clean-up that fails after the commit
/// does not fail the deletion, which has happened: it is logged, no write can
/// add to the partition any more, and each item left (sessions, remembered
/// devices, events) has a `ttl`.
pub async fn delete(app: &App, user: &UserRecord) -> Result<(), ApiError> {
    app.repo.commit(writes::delete_account(user, credential_key)).await?;
    match app.repo.delete_user_items(&user.id).await {
        Ok(items) => tracing::info!(user_id = user.id, items, "account deleted"),
        Err(err) => {
            tracing::error!(user_id = user.id, error = %ErrorChain(&err), "account deleted, clean-up incomplete")
        }
    }
    Ok(())
}
