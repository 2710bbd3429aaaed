//! The cookies of the contract, built with the `cookie` crate, and a new
//! session's.

use cookie::Cookie;
use cookie::time::Duration;

use crate::app::App;
use crate::config::CookiePolicy;
use crate::domain::{ACCESS_TTL_SECS, DEVICE_TTL_SECS, PRE2FA_TTL_SECS, REFRESH_TTL_SECS};
use crate::flows::session::NewSession;

pub const ACCESS_COOKIE: &str = "access_token";
pub const REFRESH_COOKIE: &str = "refresh_token";
pub const TWOFA_COOKIE: &str = "twofa_token";
/// A remembered browser's: it outlives sign-outs (a version bump makes it dead).
pub const DEVICE_COOKIE: &str = "device_token";

/// Name, path and lifetime of each cookie; the first three are a sign-in's.
const COOKIES: [(&str, &str, i64); 4] = [
    (ACCESS_COOKIE, "/", ACCESS_TTL_SECS),
    (REFRESH_COOKIE, "/auth", REFRESH_TTL_SECS),
    (TWOFA_COOKIE, "/auth/2fa", PRE2FA_TTL_SECS),
    (DEVICE_COOKIE, "/auth", DEVICE_TTL_SECS),
];

impl CookiePolicy {
    fn build(&self, name: &'static str, value: String) -> Cookie<'static> {
        let (_, path, ttl) = COOKIES.iter().find(|(n, _, _)| *n == name).expect("known cookie");
        Cookie::build((name, value))
            .path(*path)
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .max_age(Duration::seconds(*ttl))
            .build()
    }

    /// `Set-Cookie` for a fresh token.
    pub fn set(&self, name: &'static str, token: &str) -> String {
        self.build(name, token.to_string()).to_string()
    }

    /// `Set-Cookie` that clears a cookie (`Max-Age=0` on its own path).
    pub fn clear(&self, name: &'static str) -> String {
        let mut cookie = self.build(name, String::new());
        cookie.make_removal();
        cookie.to_string()
    }

    /// Clears the three cookies of a sign-in (not a remembered browser's).
    pub fn clear_all(&self) -> Vec<String> {
        COOKIES[..3].iter().map(|(name, _, _)| self.clear(name)).collect()
    }
}

impl NewSession {
    /// `access_token` and `refresh_token`, and the pre-2FA cookie cleared.
    pub fn cookies(&self, app: &App) -> Vec<String> {
        let policy = &app.config.cookies;
        vec![
            policy.set(ACCESS_COOKIE, &self.access_token),
            policy.set(REFRESH_COOKIE, &self.refresh_token),
            policy.clear(TWOFA_COOKIE),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cookie::SameSite;

    const DEPLOYED: CookiePolicy = CookiePolicy { secure: true, same_site: SameSite::None };
    const LOCAL: CookiePolicy = CookiePolicy { secure: false, same_site: SameSite::Lax };

    fn parsed(set_cookie: &str) -> Cookie<'static> {
        Cookie::parse(set_cookie.to_string()).unwrap()
    }

    #[test]
    fn each_cookie_has_its_path_and_lifetime() {
        for (name, path, seconds) in [
            (ACCESS_COOKIE, "/", 900),
            (REFRESH_COOKIE, "/auth", 604_800),
            (TWOFA_COOKIE, "/auth/2fa", 300),
            (DEVICE_COOKIE, "/auth", 2_592_000),
        ] {
            let cookie = parsed(&DEPLOYED.set(name, "a.b.c"));
            assert_eq!((cookie.name(), cookie.value()), (name, "a.b.c"));
            assert_eq!(cookie.path(), Some(path));
            assert_eq!(cookie.max_age(), Some(Duration::seconds(seconds)));
            assert_eq!(cookie.http_only(), Some(true));
            assert_eq!(cookie.secure(), Some(true));
            assert_eq!(cookie.same_site(), Some(SameSite::None));
        }
    }

    #[test]
    fn local_cookies_are_lax_without_secure() {
        let cookie = LOCAL.set(ACCESS_COOKIE, "x");
        assert!(cookie.contains("SameSite=Lax"));
        assert!(!cookie.contains("Secure"));
    }

    #[test]
    fn clearing_sets_max_age_zero_on_the_cookie_path() {
        let cleared: Vec<_> = LOCAL.clear_all().iter().map(|c| parsed(c)).collect();
        let seen: Vec<_> = cleared.iter().map(|c| (c.name(), c.value(), c.path(), c.max_age())).collect();
        let zero = Some(Duration::ZERO);
        assert_eq!(
            seen,
            [
                (ACCESS_COOKIE, "", Some("/"), zero),
                (REFRESH_COOKIE, "", Some("/auth"), zero),
                (TWOFA_COOKIE, "", Some("/auth/2fa"), zero),
            ]
        );
    }
}
