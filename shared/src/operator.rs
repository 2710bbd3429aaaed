//! What an operator does with AWS credentials, never through the public API:
//! grant or revoke the admin role, and reset 2FA for a user who lost every
//! factor. Each ends all of the user's sessions and leaves an audit event
//! (with no IP or user agent); a 2FA reset also mails the user a notice.

use crate::audit::EventKind;
use crate::clock::Clock;
use crate::domain::{Email, Role};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::mail::Mailer;
use crate::repo::{Repo, Write, writes};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    GrantAdmin,
    RevokeAdmin,
    ResetTwofa,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done { user_id: String },
    AlreadySo { user_id: String },
    NoSuchUser,
}

pub async fn run(
    repo: &Repo,
    mailer: &Mailer,
    clock: &dyn Clock,
    command: Command,
    email: &Email,
) -> Result<Outcome, ApiError> {
    let Some(user) = repo.user_by_email(email).await? else { return Ok(Outcome::NoSuchUser) };
    let (mut change, event): (Vec<Write>, EventKind) = match command {
        Command::GrantAdmin if user.role == Role::Admin => return Ok(Outcome::AlreadySo { user_id: user.id }),
        Command::RevokeAdmin if user.role == Role::User => return Ok(Outcome::AlreadySo { user_id: user.id }),
        Command::GrantAdmin => (writes::set_role(&user, Role::Admin).into(), EventKind::RoleGranted),
        Command::RevokeAdmin => (writes::set_role(&user, Role::User).into(), EventKind::RoleRevoked),
        // Also for a user with 2FA off: it clears a pending setup and a code lockout.
        Command::ResetTwofa => (writes::reset_twofa(&user).into(), EventKind::TwofaReset),
    };
    let now_millis = clock.now().timestamp_millis();
    change.extend(writes::audit(&user.id, &[event], now_millis, &ClientInfo::default()));
    repo.commit(change).await?;
    mailer.notify(&user.email, &[event], now_millis, &ClientInfo::default(), None).await;
    Ok(Outcome::Done { user_id: user.id })
}
