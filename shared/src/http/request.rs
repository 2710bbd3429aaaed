//! Reading requests the way the contract says: JSON bodies, cookies, bearer
//! tokens, who sent it; the origin and CloudFront checks every request passes.

use lambda_http::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, ORIGIN, USER_AGENT};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::domain::ClientInfo;
use crate::error::ApiError;

/// Bodies above this many bytes get `413 payload_too_large`.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Parses a JSON body: `415` unless the content type is `application/json`,
/// `413` above [`MAX_BODY_BYTES`], `400` for anything serde refuses (the body
/// types deny unknown fields).
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    if !has_json_content_type(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    serde_json::from_slice(bytes).map_err(|err| {
        let what = match err.classify() {
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            _ => "the body is not valid JSON",
        };
        ApiError::invalid_request(what)
    })
}

/// [`json_body`] for a route whose body is optional: no body at all is the
/// body type's default (`{}`); anything sent is checked as [`json_body`] does.
pub fn optional_json_body<T: DeserializeOwned + Default>(req: &Request) -> Result<T, ApiError> {
    let empty = match req.body() {
        Body::Empty => true,
        Body::Text(text) => text.is_empty(),
        Body::Binary(bytes) => bytes.is_empty(),
        _ => true,
    };
    if empty { Ok(T::default()) } else { json_body(req) }
}

fn has_json_content_type(req: &Request) -> bool {
    let Some(value) = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// The value of a request cookie. API Gateway v2 sends cookies in the event's
/// `cookies` array, which `lambda_http` joins into one `Cookie` header; both
/// `a=1;b=2` and `a=1; b=2` are read.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_string())
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl ClientInfo {
    /// Who sent `req`, from API Gateway's request context and the `User-Agent` header.
    pub fn of(req: &Request) -> Self {
        let ip = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
            _ => None,
        };
        let user_agent = req.headers().get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
        ClientInfo { ip, user_agent }
    }
}

/// `403 forbidden_origin` for a `POST` that a page of another site sent: its
/// `Origin` header is neither the configured front end's nor the API's own
/// (the `Host` it was sent to, over https when cookies are `Secure`). Without
/// `Origin` (curl, apps, servers) the request is not a browser's cross-site
/// form, and passes. This keeps `SameSite=None` cookies from riding on
/// another site's form posts.
pub(super) fn check_origin(config: &Config, req: &Request) -> Result<(), ApiError> {
    if req.method() != Method::POST {
        return Ok(());
    }
    let Some(origin) = req.headers().get(ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().map_err(|_| ApiError::ForbiddenOrigin)?;
    if config.allowed_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    let scheme = if config.cookies.secure { "https" } else { "http" };
    let own = req.headers().get(HOST).and_then(|host| host.to_str().ok()).map(|host| format!("{scheme}://{host}"));
    if own.is_some_and(|own| own.eq_ignore_ascii_case(origin)) { Ok(()) } else { Err(ApiError::ForbiddenOrigin) }
}

/// The header CloudFront adds to every request it sends to the API (`ORIGIN_SECRET`).
const ORIGIN_VERIFY: &str = "x-origin-verify";
/// The viewer's `ip:port`, as CloudFront saw the connection.
const VIEWER_ADDRESS: &str = "cloudfront-viewer-address";

/// Where the API sits behind CloudFront (`ORIGIN_SECRET` set): a request
/// without CloudFront's secret header went around it (and around its rate
/// rules) and is refused with `403 forbidden_origin`; one with it carries
/// the viewer's address, which becomes the client's IP. Without the setting
/// nothing is trusted and the request passes unchanged: the IP stays the one
/// API Gateway saw.
pub(super) fn through_front_door(config: &Config, req: Request) -> Result<Request, ApiError> {
    use secrecy::ExposeSecret;
    use subtle::ConstantTimeEq;
    let Some(secret) = &config.origin_secret else { return Ok(req) };
    let presented = req.headers().get(ORIGIN_VERIFY).map(HeaderValue::as_bytes).unwrap_or_default();
    if !bool::from(presented.ct_eq(secret.expose_secret().as_bytes())) {
        return Err(ApiError::ForbiddenOrigin);
    }
    let viewer = req.headers().get(VIEWER_ADDRESS).and_then(|v| v.to_str().ok()).and_then(viewer_ip);
    match (viewer, req.request_context_ref()) {
        (Some(ip), Some(RequestContext::ApiGatewayV2(context))) => {
            let mut context = context.clone();
            context.http.source_ip = Some(ip);
            Ok(req.with_request_context(RequestContext::ApiGatewayV2(context)))
        }
        _ => Ok(req),
    }
}

/// The IP of `CloudFront-Viewer-Address` (`198.51.100.10:46532`,
/// `2001:db8::1:46532` or `[2001:db8::1]:46532`), if it is one.
fn viewer_ip(address: &str) -> Option<String> {
    let (ip, port) = address.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http;
    use serde::Deserialize;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/auth/login");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(Body::Text(body.to_string())).unwrap()
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Login {
        #[allow(dead_code)]
        email: String,
    }

    #[test]
    fn json_content_type_with_parameters_is_accepted() {
        let req = request(Some("Application/JSON; charset=utf-8"), r#"{"email":"a@b.co"}"#);
        assert!(json_body::<Login>(&req).is_ok());
    }

    #[test]
    fn other_or_missing_content_type_is_415() {
        for ct in [None, Some("text/plain"), Some("application/jsonx")] {
            let req = request(ct, r#"{"email":"a@b.co"}"#);
            assert!(matches!(json_body::<Login>(&req), Err(ApiError::UnsupportedMediaType)), "{ct:?}");
        }
    }

    #[test]
    fn oversized_body_is_413_before_parsing() {
        let body = format!(r#"{{"email":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let req = request(Some("application/json"), &body);
        assert!(matches!(json_body::<Login>(&req), Err(ApiError::PayloadTooLarge)));
    }

    #[test]
    fn malformed_unknown_and_lone_surrogates_are_400() {
        for body in ["{", r#"{"email":"a@b.co","extra":1}"#, r#"{"email":5}"#, r#"{}"#, r#"{"email":"\ud800"}"#, ""] {
            let req = request(Some("application/json"), body);
            assert!(matches!(json_body::<Login>(&req), Err(ApiError::InvalidRequest(_))), "{body}");
        }
    }

    #[test]
    fn cookies_are_read_with_or_without_spaces() {
        let req =
            http::Request::builder().header(COOKIE, "a=1;twofa_token=xyz; refresh_token=r").body(Body::Empty).unwrap();
        assert_eq!(cookie(&req, "twofa_token").as_deref(), Some("xyz"));
        assert_eq!(cookie(&req, "refresh_token").as_deref(), Some("r"));
        assert_eq!(cookie(&req, "access_token"), None);
    }

    fn config(secure: bool, allowed: Option<&str>) -> Config {
        Config {
            table_name: "t".into(),
            kms_key_id: "k".into(),
            issuer: "TwoFA".into(),
            issuer_url: None,
            audience: "twofa".into(),
            cookies: crate::config::CookiePolicy { secure, same_site: cookie::SameSite::Lax },
            allowed_origins: allowed.into_iter().map(str::to_string).collect(),
            origin_secret: None,
            mail: crate::config::MailConfig {
                from: "a@b.co".into(),
                web_base_url: "https://app.example.com".into(),
                configuration_set: None,
                anonymous_per_minute: 120,
            },
            passkeys: crate::config::PasskeyConfig {
                rp_id: "app.example.com".into(),
                origins: vec!["https://app.example.com".into()],
            },
        }
    }

    fn sent(method: &str, origin: Option<&str>) -> Request {
        let mut builder =
            http::Request::builder().method(method).uri("/auth/logout-all").header(HOST, "api.example.com");
        if let Some(origin) = origin {
            builder = builder.header(ORIGIN, origin);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn a_post_from_another_site_is_forbidden_and_nothing_else_is() {
        let deployed = config(true, Some("https://app.example.com"));
        let forbidden = |req: &Request| matches!(check_origin(&deployed, req), Err(ApiError::ForbiddenOrigin));
        for origin in ["https://evil.example", "null", "http://app.example.com", "http://api.example.com"] {
            assert!(forbidden(&sent("POST", Some(origin))), "{origin}");
        }
        for allowed in [None, Some("https://app.example.com"), Some("https://api.example.com")] {
            assert!(!forbidden(&sent("POST", allowed)), "{allowed:?}");
        }
        assert!(!forbidden(&sent("GET", Some("https://evil.example"))), "reads are not cross-site effects");
        let local = config(false, None);
        assert!(check_origin(&local, &sent("POST", Some("http://api.example.com"))).is_ok());
        assert!(check_origin(&local, &sent("POST", Some("http://evil.example"))).is_err());
    }

    #[test]
    fn several_front_ends_may_post() {
        let mut config = config(true, Some("https://app.example.com"));
        config.allowed_origins.push("http://localhost:4200".into());
        assert!(check_origin(&config, &sent("POST", Some("http://localhost:4200"))).is_ok());
        assert!(check_origin(&config, &sent("POST", Some("https://app.example.com"))).is_ok());
        assert!(check_origin(&config, &sent("POST", Some("http://127.0.0.1:4200"))).is_err());
    }

    fn via_cloudfront(secret: Option<&str>, viewer: Option<&str>) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/auth/login");
        if let Some(secret) = secret {
            builder = builder.header(ORIGIN_VERIFY, secret);
        }
        if let Some(viewer) = viewer {
            builder = builder.header(VIEWER_ADDRESS, viewer);
        }
        let mut context = lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some("130.176.0.1".into());
        builder.body(Body::Empty).unwrap().with_request_context(RequestContext::ApiGatewayV2(context))
    }

    fn ip_of(req: &Request) -> Option<String> {
        match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        }
    }

    #[test]
    fn behind_cloudfront_the_secret_is_required_and_the_viewer_address_is_the_ip() {
        let mut config = config(true, None);
        let viewer = Some("198.51.100.10:46532");
        // Without the setting, CloudFront's headers are anyone's words.
        let passed = through_front_door(&config, via_cloudfront(None, viewer)).unwrap();
        assert_eq!(ip_of(&passed).as_deref(), Some("130.176.0.1"));
        config.origin_secret = Some("s3cret-of-the-stack".into());
        for wrong in [None, Some(""), Some("s3cret-of-the-stacK"), Some("s3cret")] {
            assert!(matches!(
                through_front_door(&config, via_cloudfront(wrong, viewer)),
                Err(ApiError::ForbiddenOrigin)
            ));
        }
        let through =
            |viewer| through_front_door(&config, via_cloudfront(Some("s3cret-of-the-stack"), viewer)).unwrap();
        assert_eq!(ip_of(&through(viewer)).as_deref(), Some("198.51.100.10"));
        assert_eq!(ip_of(&through(Some("2001:db8::1:46532"))).as_deref(), Some("2001:db8::1"));
        assert_eq!(ip_of(&through(Some("[2001:db8::2]:443"))).as_deref(), Some("2001:db8::2"));
        assert_eq!(ip_of(&through(Some("not an address"))).as_deref(), Some("130.176.0.1"));
        assert_eq!(ip_of(&through(None)).as_deref(), Some("130.176.0.1"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let req = http::Request::builder().header(AUTHORIZATION, "bearer abc.def.ghi").body(Body::Empty).unwrap();
        assert_eq!(bearer_token(&req), Some("abc.def.ghi"));
        let basic = http::Request::builder().header(AUTHORIZATION, "Basic dXNlcg==").body(Body::Empty).unwrap();
        assert_eq!(bearer_token(&basic), None);
    }
}
