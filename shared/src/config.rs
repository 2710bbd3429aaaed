//! The settings a function reads from its environment, once, at cold start.

use cookie::SameSite;

/// Everything configurable about a deployment. Read only by [`Config::from_env`].
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `KMS_KEY_ID`: the KMS key (id, ARN or alias) that wraps the data keys.
    pub kms_key_id: String,
    /// `ISSUER`: the name shown in authenticator apps and the `iss` of the
    /// tokens only this service reads (refresh, pre-2FA).
    pub issuer: String,
    /// `ISSUER_URL`: the `iss` of access tokens and of the OpenID discovery
    /// document (`https://auth.example.com`). Unset: the API's own https base
    /// URL, as API Gateway received the request (`https://<domain>`).
    pub issuer_url: Option<String>,
    /// `AUDIENCE`: the `aud` of access tokens (default `twofa`).
    pub audience: String,
    pub cookies: CookiePolicy,
    /// `ALLOWED_ORIGIN`: the web front end's origin (`https://app.example.com`),
    /// whose pages may `POST` here besides the API's own; unset: only the API's own.
    pub allowed_origin: Option<String>,
    pub mail: MailConfig,
}

/// Where mail comes from and where its links lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// `MAIL_FROM`: the sender, an address of an SES identity (`TwoFA <no-reply@example.com>` works too).
    pub from: String,
    /// `WEB_BASE_URL`: the web front end, where links in mail lead (`https://app.example.com`).
    pub web_base_url: String,
}

/// How cookies are marked: `Secure; SameSite=None` or `Secure; SameSite=Lax`
/// on a deployed stage, `SameSite=Lax` without `Secure` over plain local http.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    /// `COOKIE_SECURE`: `true` (default) or `false`.
    pub secure: bool,
    /// `COOKIE_SAMESITE`: `Lax` (default), `Strict` or `None`.
    pub same_site: SameSite,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} has an invalid value: {why}")]
    Invalid { name: &'static str, why: &'static str },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required =
            |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing(name));
        let secure = match lookup("COOKIE_SECURE").as_deref().map(str::trim) {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => {
                return Err(ConfigError::Invalid { name: "COOKIE_SECURE", why: "use true or false" });
            }
        };
        let same_site = match lookup("COOKIE_SAMESITE").as_deref().map(str::trim) {
            None | Some("Lax") => SameSite::Lax,
            Some("Strict") => SameSite::Strict,
            Some("None") => SameSite::None,
            Some(_) => {
                return Err(ConfigError::Invalid { name: "COOKIE_SAMESITE", why: "use Lax, Strict or None" });
            }
        };
        if same_site == SameSite::None && !secure {
            return Err(ConfigError::Invalid {
                name: "COOKIE_SAMESITE",
                why: "browsers drop SameSite=None cookies that are not Secure",
            });
        }
        let issuer = lookup("ISSUER").unwrap_or_else(|| "TwoFA".to_string());
        if issuer.contains(':') || issuer.trim().is_empty() {
            return Err(ConfigError::Invalid { name: "ISSUER", why: "must be non-empty and contain no ':'" });
        }
        let allowed_origin = match lookup("ALLOWED_ORIGIN").map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
            None => None,
            Some(origin) if is_origin(&origin) => Some(origin),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "ALLOWED_ORIGIN",
                    why: "an origin is scheme://host[:port], with no path (https://app.example.com)",
                });
            }
        };
        let issuer_url = match lookup("ISSUER_URL").map(|v| v.trim().trim_end_matches('/').to_string()) {
            None => None,
            Some(url) if url.is_empty() => None,
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url),
            Some(_) => return Err(ConfigError::Invalid { name: "ISSUER_URL", why: "an http(s) URL" }),
        };
        let audience = lookup("AUDIENCE").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let table_name = required("TABLE_NAME")?;
        let kms_key_id = required("KMS_KEY_ID")?;
        let web_base_url = required("WEB_BASE_URL")?.trim().trim_end_matches('/').to_string();
        if !web_base_url.starts_with("https://") && !web_base_url.starts_with("http://") {
            return Err(ConfigError::Invalid { name: "WEB_BASE_URL", why: "an http(s) URL of the web front end" });
        }
        let mail = MailConfig { from: required("MAIL_FROM")?.trim().to_string(), web_base_url };
        Ok(Config {
            table_name,
            kms_key_id,
            issuer,
            issuer_url,
            audience: audience.unwrap_or_else(|| "twofa".into()),
            cookies: CookiePolicy { secure, same_site },
            allowed_origin,
            mail,
        })
    }
}

/// `http(s)://host[:port]` and nothing more, as browsers send it in `Origin`.
fn is_origin(value: &str) -> bool {
    let Some(authority) = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://")) else {
        return false;
    };
    !authority.is_empty() && !authority.contains(['/', '?', '#', '@', ' ', '*'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| env.get(name).cloned())
    }

    const MAIL: [(&str, &str); 2] =
        [("MAIL_FROM", "no-reply@example.com"), ("WEB_BASE_URL", "https://app.example.com/")];

    #[test]
    fn defaults_are_secure_lax() {
        let config = load(&[("TABLE_NAME", "t"), ("KMS_KEY_ID", "alias/k"), MAIL[0], MAIL[1]]).unwrap();
        assert_eq!(config.mail.web_base_url, "https://app.example.com");
        assert_eq!(config.cookies, CookiePolicy { secure: true, same_site: SameSite::Lax });
        assert_eq!(config.issuer, "TwoFA");
    }

    #[test]
    fn missing_table_is_named() {
        let err = load(&[("KMS_KEY_ID", "alias/k")]).unwrap_err();
        assert!(err.to_string().contains("TABLE_NAME"));
    }

    #[test]
    fn the_allowed_origin_is_an_origin() {
        let base = [("TABLE_NAME", "t"), ("KMS_KEY_ID", "k"), MAIL[0], MAIL[1]];
        let with = |origin: &'static str| load(&[base[0], base[1], base[2], base[3], ("ALLOWED_ORIGIN", origin)]);
        assert_eq!(with("https://app.example.com").unwrap().allowed_origin.as_deref(), Some("https://app.example.com"));
        assert_eq!(with("http://127.0.0.1:4200").unwrap().allowed_origin.as_deref(), Some("http://127.0.0.1:4200"));
        assert_eq!(load(&base).unwrap().allowed_origin, None);
        for bad in ["app.example.com", "https://app.example.com/", "https://*.example.com", "null"] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn same_site_none_requires_secure() {
        let err =
            load(&[("TABLE_NAME", "t"), ("KMS_KEY_ID", "k"), ("COOKIE_SECURE", "false"), ("COOKIE_SAMESITE", "None")])
                .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SAMESITE"));
    }
}
