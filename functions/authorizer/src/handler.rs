//! The Lambda authorizer for a team's own HTTP APIs: it does what API
//! Gateway's JWT authorizer cannot. It takes the access token from the
//! `access_token` cookie or `Authorization: Bearer`, verifies it against the
//! published keys, refuses it when the user's token version has changed
//! (logout-all, 2FA on or off, a password reset or change, an operator
//! command), can require the second factor per route, and hands the route
//! `sub`, `sid`, `role` and `aal` as context. One `GetItem` per decision, or
//! none when API Gateway answers from its authorizer cache.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_http::http::header::{AUTHORIZATION, COOKIE};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde::{Deserialize, Serialize};
use shared::App;
use shared::auth::access_claims;
use shared::cookies::ACCESS_COOKIE;
use shared::domain::{Aal, Role};
use shared::error::ApiError;

/// Which routes need the second factor: `AAL2_ROUTES`, route keys separated
/// by commas (`POST /transfers,DELETE /account`), or `*` for every route.
pub struct Rules {
    aal2_routes: Vec<String>,
}

impl Rules {
    pub fn from_env() -> Result<Self, lambda_http::Error> {
        Ok(Rules::new(&std::env::var("AAL2_ROUTES").unwrap_or_default()))
    }

    pub fn new(aal2_routes: &str) -> Self {
        Rules {
            aal2_routes: aal2_routes.split(',').map(str::trim).filter(|r| !r.is_empty()).map(String::from).collect(),
        }
    }

    fn needs_aal2(&self, route_key: &str) -> bool {
        self.aal2_routes.iter().any(|route| route == "*" || route == route_key)
    }
}

/// What the route sees as `$context.authorizer.lambda.*`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Granted {
    pub sub: String,
    pub sid: String,
    /// `admin` only at aal 2: an admin who has not proven the second factor is not one yet.
    pub role: String,
    pub aal: u8,
}

pub type Decision = ApiGatewayV2CustomAuthorizerSimpleResponse<Granted>;

pub async fn handle(
    app: &App,
    rules: &Rules,
    event: ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<Decision, lambda_http::Error> {
    let route = event.route_key.clone().unwrap_or_default();
    match decide(app, rules, event).await {
        Ok(Some(granted)) => Ok(allow(granted)),
        Ok(None) => {
            tracing::info!(route, "access refused");
            Ok(deny())
        }
        // Fails closed: API Gateway answers 500 and lets nothing through.
        Err(err) => Err(err.to_string().into()),
    }
}

async fn decide(
    app: &App,
    rules: &Rules,
    event: ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<Option<Granted>, ApiError> {
    let needs_aal2 = rules.needs_aal2(event.route_key.as_deref().unwrap_or_default());
    let Some(token) = token_of(&event) else { return Ok(None) };
    // Verified as this service verifies its own requests (the issuer is ISSUER_URL).
    let claims = match access_claims(app, &as_request(&event), &token).await {
        Ok(claims) => claims,
        Err(ApiError::Unauthorized) => return Ok(None),
        Err(other) => return Err(other),
    };
    if needs_aal2 && claims.aal != Aal::Two {
        return Ok(None);
    }
    let current = app.repo.user(&claims.reg.sub).await?.is_some_and(|user| user.version == claims.ver);
    if !current {
        return Ok(None);
    }
    let role = if claims.role == Role::Admin && claims.aal == Aal::Two { Role::Admin } else { Role::User };
    Ok(Some(Granted { sub: claims.reg.sub, sid: claims.sid, role: role.as_str().into(), aal: claims.aal.into() }))
}

/// `Authorization: Bearer <jwt>`, else the `access_token` cookie.
fn token_of(event: &ApiGatewayV2CustomAuthorizerV2Request) -> Option<String> {
    let bearer = event.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string()).filter(|t| !t.is_empty())
    });
    let from_header = event.headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_string);
    let cookie = event
        .cookies
        .iter()
        .cloned()
        .chain(from_header)
        .flat_map(|line| cookie::Cookie::split_parse(line).filter_map(Result::ok).collect::<Vec<_>>())
        .find(|c| c.name() == ACCESS_COOKIE && !c.value().is_empty())
        .map(|c| c.value().to_string());
    bearer.or(cookie)
}

/// The request the token came with, as `access_claims` reads it (only its
/// context's domain, when `ISSUER_URL` is not set).
fn as_request(event: &ApiGatewayV2CustomAuthorizerV2Request) -> Request {
    use lambda_http::RequestExt;
    let context = RequestContext::ApiGatewayV2(event.request_context.clone());
    lambda_http::http::Request::new(Body::Empty).with_request_context(context)
}

fn allow(granted: Granted) -> Decision {
    let mut decision = Decision::default();
    decision.is_authorized = true;
    decision.context = granted;
    decision
}

fn deny() -> Decision {
    Decision::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use shared::domain::SecondFactor;
    use testkit::TestEnv;

    /// The sample authorizer event of a team's route, with these credentials.
    fn event(route: &str, bearer: Option<&str>, cookie: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
        let path = format!("{}/../../events/authorizer.json", env!("CARGO_MANIFEST_DIR"));
        let mut json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        json["routeKey"] = json!(route);
        json["cookies"] = json!(cookie.map(|token| vec![format!("access_token={token}")]).unwrap_or_default());
        if let Some(token) = bearer {
            json["headers"]["authorization"] = json!(format!("Bearer {token}"));
        }
        serde_json::from_value(json).unwrap()
    }

    async fn decide(env: &TestEnv, route: &str, bearer: Option<&str>, cookie: Option<&str>) -> Decision {
        handle(&env.app, &Rules::new("POST /transfers"), event(route, bearer, cookie)).await.unwrap()
    }

    #[tokio::test]
    async fn a_fresh_token_from_the_cookie_or_as_bearer_is_allowed_with_its_claims_in_one_read() {
        let env = TestEnv::new().await;
        let user = env.register("team@example.com").await;
        let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        env.calls.reset();
        for (bearer, cookie) in
            [(Some(session.access_token.as_str()), None), (None, Some(session.access_token.as_str()))]
        {
            let decision = decide(&env, "GET /hello", bearer, cookie).await;
            assert!(decision.is_authorized);
            assert_eq!(
                decision.context,
                Granted { sub: user.id.clone(), sid: session.record.session_id.clone(), role: "user".into(), aal: 2 }
            );
            assert_eq!(env.calls.take(), ["DynamoDB.GetItem"]);
        }
        assert!(decide(&env, "POST /transfers", Some(&session.access_token), None).await.is_authorized);
    }

    #[tokio::test]
    async fn a_token_of_an_older_version_is_refused_at_once() {
        let env = TestEnv::new().await;
        let user = env.register("revoked@example.com").await;
        let session = env.sign_in(&user, None).await;
        assert!(decide(&env, "GET /hello", Some(&session.access_token), None).await.is_authorized);
        env.app.repo.commit(shared::repo::writes::bump_version(&user).into()).await.unwrap();
        let after = decide(&env, "GET /hello", Some(&session.access_token), None).await;
        assert!(!after.is_authorized, "logout-all did not reach the other API");
        assert_eq!(after.context, Granted::default(), "nothing is handed to a refused request");
    }

    #[tokio::test]
    async fn a_route_that_needs_the_second_factor_refuses_an_aal1_token() {
        let env = TestEnv::new().await;
        let user = env.register("aal1@example.com").await;
        let session = env.sign_in(&user, None).await;
        assert!(decide(&env, "GET /hello", Some(&session.access_token), None).await.is_authorized);
        assert!(!decide(&env, "POST /transfers", Some(&session.access_token), None).await.is_authorized);
        assert!(Rules::new("*").needs_aal2("GET /anything"));
    }

    #[tokio::test]
    async fn refresh_and_pre2fa_tokens_garbage_and_nothing_are_refused() {
        let env = TestEnv::new().await;
        let user = env.register("kinds@example.com").await;
        let session = env.sign_in(&user, None).await;
        let pre2fa = env.pre2fa(&user).await;
        for token in [session.refresh_token.as_str(), pre2fa.as_str(), "e30.e30.e30", "garbage"] {
            assert!(!decide(&env, "GET /hello", Some(token), None).await.is_authorized, "{token}");
            assert!(!decide(&env, "GET /hello", None, Some(token)).await.is_authorized, "{token}");
        }
        assert!(!decide(&env, "GET /hello", None, None).await.is_authorized);
    }

    #[tokio::test]
    async fn an_admin_without_the_second_factor_is_passed_on_as_a_user() {
        let env = TestEnv::new().await;
        let admin = env.grant_admin(&env.register("boss@example.com").await).await;
        let aal1 = env.sign_in(&admin, None).await;
        assert_eq!(decide(&env, "GET /hello", Some(&aal1.access_token), None).await.context.role, "user");
        let aal2 = env.sign_in(&admin, Some(SecondFactor::Totp)).await;
        assert_eq!(decide(&env, "GET /hello", Some(&aal2.access_token), None).await.context.role, "admin");
    }
}
