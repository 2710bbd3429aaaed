//! The settings a function reads from its environment, once, at cold start.

use cookie::SameSite;
use secrecy::SecretString;

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
    /// `ALLOWED_ORIGINS`: the web front ends' origins, comma-separated
    /// (`https://app.example.com,http://localhost:4200`), whose pages may
    /// `POST` here besides the API's own (the single `ALLOWED_ORIGIN` of
    /// earlier versions is read too); unset: only the API's own.
    pub allowed_origins: Vec<String>,
    /// `ORIGIN_SECRET`: set when the API is served through CloudFront, which
    /// adds it as `X-Origin-Verify`; requests without it are refused, and the
    /// client's IP is CloudFront's `CloudFront-Viewer-Address`.
    pub origin_secret: Option<SecretString>,
    pub mail: MailConfig,
    pub passkeys: PasskeyConfig,
}

/// The WebAuthn relying party: whose passkeys these are, and which pages may use them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyConfig {
    /// `RP_ID`: a host name (browsers refuse WebAuthn on an IP address);
    /// default: the host of `WEB_BASE_URL`.
    pub rp_id: String,
    /// The origins whose client data is accepted: the web front end's
    /// (`WEB_BASE_URL`) and every allowed origin on the relying party's host
    /// or below it.
    pub origins: Vec<String>,
}

/// Where mail comes from and where its links lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// `MAIL_FROM`: the sender, an address of an SES identity (`TwoFA <no-reply@example.com>` works too).
    pub from: String,
    /// `WEB_BASE_URL`: the web front end, where links in mail lead (`https://app.example.com`).
    pub web_base_url: String,
    /// `MAIL_CONFIGURATION_SET`: the SES configuration set to send with (suppression list, reputation metrics).
    pub configuration_set: Option<String>,
    /// `ANONYMOUS_MAIL_PER_MINUTE` (default 120): mails that anyone can
    /// trigger without an account (a sign-up's verification, a reset link)
    /// share this budget per minute, so that a flood of them cannot use up
    /// SES's sending rate; security notices and a signed-in user's mails do
    /// not count against it.
    pub anonymous_per_minute: i64,
}

/// The default of [`MailConfig::anonymous_per_minute`]: 2 a second, a seventh
/// of SES's default production rate (14 a second), and far above what
/// sign-ups and resets of real users need.
pub const DEFAULT_ANONYMOUS_MAIL_PER_MINUTE: i64 = 120;

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
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
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
        let mut allowed_origins = Vec::new();
        for name in ["ALLOWED_ORIGINS", "ALLOWED_ORIGIN"] {
            for origin in lookup(name).unwrap_or_default().split(',').map(str::trim).filter(|v| !v.is_empty()) {
                if !is_origin(origin) {
                    return Err(ConfigError::Invalid {
                        name,
                        why: "origins are scheme://host[:port], with no path (https://app.example.com), comma-separated",
                    });
                }
                allowed_origins.push(origin.to_string());
            }
        }
        let origin_secret = lookup("ORIGIN_SECRET").filter(|v| !v.trim().is_empty()).map(SecretString::from);
        let anonymous_per_minute = match lookup("ANONYMOUS_MAIL_PER_MINUTE").as_deref().map(str::trim) {
            None | Some("") => DEFAULT_ANONYMOUS_MAIL_PER_MINUTE,
            Some(value) => match value.parse::<i64>() {
                Ok(n) if n >= 0 => n,
                _ => {
                    return Err(ConfigError::Invalid { name: "ANONYMOUS_MAIL_PER_MINUTE", why: "a whole number >= 0" });
                }
            },
        };
        let configuration_set =
            lookup("MAIL_CONFIGURATION_SET").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
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
        let mail = MailConfig {
            from: required("MAIL_FROM")?.trim().to_string(),
            web_base_url,
            configuration_set,
            anonymous_per_minute,
        };
        let passkeys = passkey_config(lookup("RP_ID"), &mail.web_base_url, &allowed_origins)?;
        Ok(Config {
            table_name,
            kms_key_id,
            issuer,
            issuer_url,
            audience: audience.unwrap_or_else(|| "twofa".into()),
            cookies: CookiePolicy { secure, same_site },
            allowed_origins,
            origin_secret,
            mail,
            passkeys,
        })
    }
}

/// The host name of an http(s) URL, lower case; `None` for an IP address or no URL.
fn host_name(url: &str) -> Option<String> {
    match url::Url::parse(url).ok()?.host()? {
        url::Host::Domain(domain) => Some(domain.to_lowercase()),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
    }
}

fn passkey_config(rp_id: Option<String>, web_base_url: &str, allowed: &[String]) -> Result<PasskeyConfig, ConfigError> {
    let rp_id = rp_id.map(|id| id.trim().to_lowercase()).filter(|id| !id.is_empty());
    let rp_id = rp_id.or_else(|| host_name(web_base_url)).unwrap_or_default();
    if rp_id.is_empty() || rp_id.parse::<std::net::IpAddr>().is_ok() || rp_id.contains(['/', ':', ' ']) {
        return Err(ConfigError::Invalid {
            name: "RP_ID",
            why: "a host name (browsers refuse WebAuthn on an IP address): set RP_ID or a WEB_BASE_URL with a host name",
        });
    }
    let web_origin = url::Url::parse(web_base_url).map(|url| url.origin().ascii_serialization()).unwrap_or_default();
    let covers =
        |origin: &str| host_name(origin).is_some_and(|host| host == rp_id || host.ends_with(&format!(".{rp_id}")));
    if !covers(&web_origin) {
        return Err(ConfigError::Invalid {
            name: "RP_ID",
            why: "WEB_BASE_URL's host or a parent domain of it (passkeys are made on the front end)",
        });
    }
    let mut origins = vec![web_origin];
    for origin in allowed {
        if covers(origin) && !origins.contains(origin) {
            origins.push(origin.clone());
        }
    }
    Ok(PasskeyConfig { rp_id, origins })
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
    fn the_relying_party_is_the_front_end_host_and_its_origins() {
        let base = [("TABLE_NAME", "t"), ("KMS_KEY_ID", "k"), ("MAIL_FROM", "a@b.co")];
        let with = |web: &'static str, allowed: &'static str| {
            load(&[base[0], base[1], base[2], ("WEB_BASE_URL", web), ("ALLOWED_ORIGINS", allowed)])
        };
        let local = with("http://localhost:4200", "http://localhost:4200,http://127.0.0.1:4200,http://localhost:4300")
            .unwrap()
            .passkeys;
        assert_eq!(local.rp_id, "localhost");
        assert_eq!(local.origins, ["http://localhost:4200", "http://localhost:4300"], "no IP origin");
        let deployed =
            with("https://auth.example.com/app", "https://staging.auth.example.com,https://evil.com").unwrap().passkeys;
        assert_eq!(deployed.rp_id, "auth.example.com");
        assert_eq!(deployed.origins, ["https://auth.example.com", "https://staging.auth.example.com"]);
        assert!(with("http://127.0.0.1:4200", "").is_err(), "an IP address is no relying party");
        let parent =
            load(&[base[0], base[1], base[2], ("WEB_BASE_URL", "https://auth.example.com"), ("RP_ID", "example.com")]);
        assert_eq!(parent.unwrap().passkeys.rp_id, "example.com");
        let elsewhere =
            load(&[base[0], base[1], base[2], ("WEB_BASE_URL", "https://auth.example.com"), ("RP_ID", "other.com")]);
        assert!(elsewhere.unwrap_err().to_string().contains("RP_ID"), "an RP id must cover the front end");
    }

    #[test]
    fn missing_table_is_named() {
        let err = load(&[("KMS_KEY_ID", "alias/k")]).unwrap_err();
        assert!(err.to_string().contains("TABLE_NAME"));
    }

    #[test]
    fn the_allowed_origins_are_a_list_of_origins() {
        let base = [("TABLE_NAME", "t"), ("KMS_KEY_ID", "k"), MAIL[0], MAIL[1]];
        let with =
            |name: &'static str, origins: &'static str| load(&[base[0], base[1], base[2], base[3], (name, origins)]);
        assert_eq!(
            with("ALLOWED_ORIGINS", "https://app.example.com").unwrap().allowed_origins,
            ["https://app.example.com"]
        );
        assert_eq!(
            with("ALLOWED_ORIGINS", " http://localhost:4200, http://127.0.0.1:4200 ,https://staging.example.com,")
                .unwrap()
                .allowed_origins,
            ["http://localhost:4200", "http://127.0.0.1:4200", "https://staging.example.com"]
        );
        assert_eq!(with("ALLOWED_ORIGIN", "http://127.0.0.1:4200").unwrap().allowed_origins, ["http://127.0.0.1:4200"]);
        assert!(load(&base).unwrap().allowed_origins.is_empty());
        for bad in
            ["app.example.com", "https://app.example.com/", "https://*.example.com", "null", "https://a.example, b"]
        {
            assert!(with("ALLOWED_ORIGINS", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_anonymous_mail_budget_defaults_below_the_ses_rate() {
        let base = [("TABLE_NAME", "t"), ("KMS_KEY_ID", "k"), MAIL[0], MAIL[1]];
        assert_eq!(load(&base).unwrap().mail.anonymous_per_minute, 120);
        let set = |v: &'static str| load(&[base[0], base[1], base[2], base[3], ("ANONYMOUS_MAIL_PER_MINUTE", v)]);
        assert_eq!(set("5").unwrap().mail.anonymous_per_minute, 5);
        assert!(set("-1").is_err() && set("many").is_err());
    }

    #[test]
    fn same_site_none_requires_secure() {
        let err =
            load(&[("TABLE_NAME", "t"), ("KMS_KEY_ID", "k"), ("COOKIE_SECURE", "false"), ("COOKIE_SAMESITE", "None")])
                .unwrap_err();
        assert!(err.to_string().contains("COOKIE_SAMESITE"));
    }
}
