//! Request bodies that more than one route takes. Unknown fields are refused.

use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::TypedCode;
use crate::error::ApiError;

/// `{"email", "password"}` for register and login.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: SecretString,
}

/// `{"code"}` or `{"backupCode"}`, exactly one: proof of the second factor.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorBody {
    pub code: Option<String>,
    #[serde(rename = "backupCode")]
    pub backup_code: Option<String>,
}

impl SecondFactorBody {
    pub fn into_code(self) -> Result<TypedCode, ApiError> {
        match (self.code, self.backup_code) {
            (Some(code), None) => Ok(TypedCode::Totp(code)),
            (None, Some(code)) => Ok(TypedCode::Backup(code)),
            _ => Err(ApiError::invalid_request("send exactly one of code and backupCode")),
        }
    }
}
