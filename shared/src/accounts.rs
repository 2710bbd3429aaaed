//! Creating an account: the one use case the register route and fixtures share.

use crate::app::App;
use crate::audit::EventKind;
use crate::domain::{Email, Password};
use crate::error::ApiError;
use crate::http::ClientInfo;
use crate::password;
use crate::repo::{Write, writes};

/// Hashes the password and writes the login item (unique per email, by
/// condition), the profile and a `register` event in one transaction.
/// Returns the new user's id.
pub async fn create(app: &App, email: &Email, password: &Password, client: &ClientInfo) -> Result<String, ApiError> {
    let password_hash = password::hash(password).await?;
    let user_id = crate::session::random_id();
    let now = app.now();
    let mut account: Vec<Write> = writes::create_account(&user_id, email, &password_hash, now.timestamp()).into();
    account.extend(writes::audit(&user_id, &[EventKind::Register], now.timestamp_millis(), client));
    app.repo.commit(account).await?;
    Ok(user_id)
}
