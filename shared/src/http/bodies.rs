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

/// Proof of the second factor: `{"code"}` (optionally with `"factorId"`),
/// `{"backupCode"}` or `{"passkey": {"ceremonyId", "credential"}}`, exactly one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorBody {
    pub code: Option<String>,
    #[serde(rename = "factorId")]
    pub factor_id: Option<String>,
    #[serde(rename = "backupCode")]
    pub backup_code: Option<String>,
    pub passkey: Option<PasskeyProof>,
}

/// A passkey's assertion for a ceremony.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyProof {
    #[serde(rename = "ceremonyId")]
    pub ceremony_id: String,
    /// `AuthenticationResponseJSON`, checked by the WebAuthn library.
    pub credential: serde_json::Value,
}

impl SecondFactorBody {
    pub fn into_code(self) -> Result<TypedCode, ApiError> {
        match (self.code, self.backup_code, self.passkey, self.factor_id) {
            (Some(code), None, None, factor_id) => Ok(TypedCode::Totp { code, factor_id }),
            (None, Some(code), None, None) => Ok(TypedCode::Backup(code)),
            (None, None, Some(passkey), None) => {
                Ok(TypedCode::Passkey { ceremony_id: passkey.ceremony_id, credential: passkey.credential })
            }
            (None, _, _, Some(_)) => Err(ApiError::invalid_request("factorId goes with a code")),
            _ => Err(ApiError::invalid_request("send exactly one of code, backupCode and passkey")),
        }
    }
}

/// verify-login's body: a proof, and `"rememberDevice": true` to remember
/// the browser (with a code or a passkey; a backup code is for a lost device).
pub struct VerifyLoginBody {
    pub proof: TypedCode,
    pub remember_device: bool,
}

impl<'de> Deserialize<'de> for VerifyLoginBody {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let remember_device = match fields.remove("rememberDevice") {
            None => false,
            Some(serde_json::Value::Bool(remember)) => remember,
            Some(_) => return Err(D::Error::custom("rememberDevice is true or false")),
        };
        let proof = SecondFactorBody::deserialize(serde_json::Value::Object(fields)).map_err(D::Error::custom)?;
        let proof =
            proof.into_code().map_err(|_| D::Error::custom("send exactly one of code, backupCode and passkey"))?;
        if remember_device && matches!(proof, TypedCode::Backup(_)) {
            return Err(D::Error::custom("a backup code does not remember the browser"));
        }
        Ok(VerifyLoginBody { proof, remember_device })
    }
}

/// `{}` or `{"name"}`: what a new factor is called.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    pub name: Option<String>,
}
