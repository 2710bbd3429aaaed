//! The Lambda authorizer for a team's own HTTP APIs: it does what API
//! Gateway's JWT authorizer cannot. It takes the access token from the
//! `access_token` cookie or `Authorization: Bearer`, verifies it against the
//! published keys, refuses it when the user's token version has changed
//! (logout-all, 2FA on or off, a password reset or change, an operator
//! command), can require the second factor per route, and hands the route
//! `sub`, `sid`, `role` and `aal` as context. It refuses a token whose session
//! ended (logout, revocation, reuse, its 30 days) as at once. One read per decision
//! (`BatchGetItem`: the profile and the session), or
//! none when API Gateway answers from its authorizer cache (whose key must
//! hold the route: the decision depends on it). A token from the cookie on a
//! request with effects is refused when its `Origin` is another site's (as
//! this service refuses cross-site `POST`s).

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_http::http::header::{COOKIE, ORIGIN};
use lambda_http::http::{HeaderValue, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request};
use serde::{Deserialize, Serialize};
use shared::domain::{Aal, Role};
use shared::http::{ACCESS_COOKIE, access_claims, bearer_token, cookie, current_session};
use shared::{ApiError, App};

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
    let request = as_request(&event);
    let token = match bearer_token(&request) {
        Some(token) => token.to_string(),
        None => match cookie(&request, ACCESS_COOKIE) {
            Some(token) if !cross_site(app, &request) => token,
            _ => return Ok(None),
        },
    };
    // Verified as this service verifies its own requests (the issuer is ISSUER_URL).
    let claims = match access_claims(app, &request, &token).await {
        Ok(claims) => claims,
        Err(ApiError::Unauthorized) => return Ok(None),
        Err(other) => return Err(other),
    };
    if needs_aal2 && claims.aal != Aal::Two {
        return Ok(None);
    }
    if current_session(app, &claims).await?.is_none() {
        return Ok(None);
    }
    let role = if claims.role == Role::Admin && claims.aal == Aal::Two { Role::Admin } else { Role::User };
    Ok(Some(Granted { sub: claims.reg.sub, sid: claims.sid, role: role.as_str().into(), aal: claims.aal.into() }))
}

/// A cookie rides on every request to the site, including a form another
/// site posts: a request with effects (not `GET` or `HEAD`) whose `Origin` is
/// present and not an allowed front end's (`ALLOWED_ORIGINS`) is refused.
fn cross_site(app: &App, request: &Request) -> bool {
    if [Method::GET, Method::HEAD].contains(request.method()) {
        return false;
    }
    match request.headers().get(ORIGIN).map(HeaderValue::to_str) {
        None => false,
        Some(Ok(origin)) => !app.config.allowed_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)),
        Some(Err(_)) => true,
    }
}

/// The request the authorizer event describes (method, headers, cookies and
/// context), so that the shared readers find the token as they do for this
/// service's own routes.
fn as_request(event: &ApiGatewayV2CustomAuthorizerV2Request) -> Request {
    use lambda_http::RequestExt;
    let context = RequestContext::ApiGatewayV2(event.request_context.clone());
    let mut request = lambda_http::http::Request::new(Body::Empty).with_request_context(context);
    *request.method_mut() = event.request_context.http.method.clone();
    *request.headers_mut() = event.headers.clone();
    if !event.cookies.is_empty()
        && let Ok(cookies) = HeaderValue::from_str(&event.cookies.join("; "))
    {
        request.headers_mut().append(COOKIE, cookies);
    }
    request
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
        json["requestContext"]["routeKey"] = json!(route);
        json["cookies"] = json!(cookie.map(|token| vec![format!("access_token={token}")]).unwrap_or_default());
        if let Some(token) = bearer {
            json["headers"]["authorization"] = json!(format!("Bearer {token}"));
        }
        serde_json::from_value(json).unwrap()
    }

    async fn decide(env: &TestEnv, route: &str, bearer: Option<&str>, cookie: Option<&str>) -> Decision {
        authorize(env, event(route, bearer, cookie)).await
    }

    async fn authorize(env: &TestEnv, event: ApiGatewayV2CustomAuthorizerV2Request) -> Decision {
        testkit::recording::scope(handle(&env.app, &Rules::new("POST /transfers"), event)).await.unwrap()
    }

    /// [`event`] for a route whose method has effects, from a page of `origin`.
    fn posted(route: &str, cookie: &str, origin: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
        let mut event = event(route, None, Some(cookie));
        event.request_context.http.method = route.split(' ').next().unwrap().parse().unwrap();
        if let Some(origin) = origin {
            event.headers.insert("origin", origin.parse().unwrap());
        }
        event
    }

    #[tokio::test]
    async fn a_cookie_on_a_post_from_another_site_is_refused_a_bearer_token_or_the_front_end_is_not() {
        let env = TestEnv::new().await;
        let user = env.register("forms@example.com").await;
        let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        let token = session.access_token.as_str();
        assert!(!authorize(&env, posted("POST /transfers", token, Some("https://evil.example"))).await.is_authorized);
        assert!(!authorize(&env, posted("POST /transfers", token, Some("null"))).await.is_authorized);
        assert!(authorize(&env, posted("POST /transfers", token, Some(testkit::FRONT_END_ORIGIN))).await.is_authorized);
        assert!(
            authorize(&env, posted("POST /transfers", token, None)).await.is_authorized,
            "no Origin: not a browser form"
        );
        assert!(
            authorize(&env, posted("GET /hello", token, Some("https://evil.example"))).await.is_authorized,
            "a read"
        );
        let mut bearer = posted("POST /transfers", "", Some("https://evil.example"));
        bearer.cookies.clear();
        bearer.headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
        assert!(authorize(&env, bearer).await.is_authorized, "a page cannot make a browser send a bearer token");
    }

    /// API Gateway's authorizer cache as AWS documents it for HTTP APIs: the
    /// identity sources are the cache key, a request missing one is refused
    /// without calling the authorizer, and a hit reuses the decision.
    struct CachingGateway {
        headers: Vec<String>,
        context: Vec<String>,
        cache: std::collections::HashMap<Vec<String>, Decision>,
    }

    impl CachingGateway {
        /// The identity sources of the example template's Lambda authorizer (examples/protected-api).
        fn as_the_example_template_configures_it() -> Self {
            let path = format!("{}/../../examples/protected-api/template.yaml", env!("CARGO_MANIFEST_DIR"));
            let template = std::fs::read_to_string(path).unwrap();
            let identity = template_list(&template, "Identity:", "Headers:");
            let context = template_list(&template, "Identity:", "Context:");
            assert!(!identity.is_empty(), "the example's authorizer names no identity header");
            CachingGateway { headers: identity, context, cache: Default::default() }
        }

        async fn authorize(&mut self, env: &TestEnv, event: ApiGatewayV2CustomAuthorizerV2Request) -> Decision {
            let mut key = Vec::new();
            for header in &self.headers {
                match event.headers.get(header.to_lowercase().as_str()).and_then(|v| v.to_str().ok()) {
                    Some(value) => key.push(format!("header.{header}={value}")),
                    None => return deny(),
                }
            }
            for field in &self.context {
                let value = match field.as_str() {
                    "routeKey" => event.request_context.route_key.clone(),
                    other => panic!("the emulated gateway does not know $context.{other}"),
                };
                key.push(format!("context.{field}={}", value.unwrap_or_default()));
            }
            if let Some(cached) = self.cache.get(&key) {
                return cached.clone();
            }
            let decision = authorize(env, event).await;
            self.cache.insert(key, decision.clone());
            decision
        }
    }

    /// The items of `list:` (flow `[a, b]` or block `- a`) in the block that follows `section`.
    fn template_list(template: &str, section: &str, list: &str) -> Vec<String> {
        let mut lines = template.lines().skip_while(|line| line.trim() != section).skip(1);
        let indent = |line: &str| line.len() - line.trim_start().len();
        let Some(first) = lines.next() else { return Vec::new() };
        let block_indent = indent(first);
        let block: Vec<&str> = std::iter::once(first).chain(lines.take_while(|l| indent(l) >= block_indent)).collect();
        let Some(at) = block.iter().position(|line| line.trim_start().starts_with(list)) else { return Vec::new() };
        let rest = block[at].trim_start()[list.len()..].trim();
        let items: Vec<String> = if rest.starts_with('[') {
            rest.trim_matches(|c| c == '[' || c == ']').split(',').map(|item| item.trim().to_string()).collect()
        } else {
            block[at + 1..]
                .iter()
                .map(|line| line.trim())
                .take_while(|line| line.starts_with("- "))
                .map(|line| line[2..].trim().to_string())
                .collect()
        };
        items.into_iter().filter(|item| !item.is_empty()).collect()
    }

    #[tokio::test]
    async fn with_the_documented_cache_an_aal1_token_allowed_on_one_route_is_still_refused_on_an_aal2_route() {
        let env = TestEnv::new().await;
        let user = env.register("cached@example.com").await;
        let aal1 = env.sign_in(&user, None).await;
        let mut gateway = CachingGateway::as_the_example_template_configures_it();
        let bearer = |route: &str| event(route, Some(&aal1.access_token), None);
        assert!(gateway.authorize(&env, bearer("GET /hello")).await.is_authorized);
        assert!(!gateway.authorize(&env, bearer("POST /transfers")).await.is_authorized, "a cached allow passed aal2");
        // And the other way round: a cached deny on the aal2 route does not close the other one.
        let mut gateway = CachingGateway::as_the_example_template_configures_it();
        assert!(!gateway.authorize(&env, bearer("POST /transfers")).await.is_authorized);
        assert!(gateway.authorize(&env, bearer("GET /hello")).await.is_authorized);
        env.calls.reset();
        assert!(gateway.authorize(&env, bearer("GET /hello")).await.is_authorized);
        assert!(env.calls.take().is_empty(), "a cache hit calls nothing");
    }

    #[tokio::test]
    async fn a_fresh_token_from_the_cookie_or_as_bearer_is_allowed_with_its_claims_in_one_read() {
        let env = TestEnv::new().await;
        let user = env.register("team@example.com").await;
        let session = env.sign_in(&user, Some(SecondFactor::Totp)).await;
        env.calls.reset();
        // A cold container first reads the published keys and unwraps the key that authenticates them.
        assert!(decide(&env, "GET /hello", Some(&session.access_token), None).await.is_authorized);
        assert_eq!(env.calls.take(), ["DynamoDB.Query", "KMS.Decrypt", "DynamoDB.BatchGetItem"]);
        for (bearer, cookie) in
            [(Some(session.access_token.as_str()), None), (None, Some(session.access_token.as_str()))]
        {
            let decision = decide(&env, "GET /hello", bearer, cookie).await;
            assert!(decision.is_authorized);
            assert_eq!(
                decision.context,
                Granted { sub: user.id.clone(), sid: session.record.session_id.clone(), role: "user".into(), aal: 2 }
            );
            assert_eq!(env.calls.take(), ["DynamoDB.BatchGetItem"], "the profile and the session in one read");
        }
        assert!(decide(&env, "POST /transfers", Some(&session.access_token), None).await.is_authorized);
    }

    #[tokio::test]
    async fn a_token_of_an_older_version_is_refused_at_once() {
        let env = TestEnv::new().await;
        let user = env.register("revoked@example.com").await;
        let session = env.sign_in(&user, None).await;
        assert!(decide(&env, "GET /hello", Some(&session.access_token), None).await.is_authorized);
        env.app.repo.commit(shared::store::writes::bump_version(&user).into()).await.unwrap();
        let after = decide(&env, "GET /hello", Some(&session.access_token), None).await;
        assert!(!after.is_authorized, "logout-all did not reach the other API");
        assert_eq!(after.context, Granted::default(), "nothing is handed to a refused request");
    }

    #[tokio::test]
    async fn a_token_of_an_ended_session_is_refused_at_once() {
        use aws_sdk_dynamodb::types::AttributeValue;
        let env = TestEnv::new().await;
        let user = env.register("ended@example.com").await;
        let ended = env.sign_in(&user, None).await;
        let other = env.sign_in(&user, None).await;
        assert!(decide(&env, "GET /hello", Some(&ended.access_token), None).await.is_authorized);
        let logout = shared::store::writes::delete_session(&user.id, &ended.record.session_id);
        env.app.repo.commit(vec![logout]).await.unwrap();
        let after = decide(&env, "GET /hello", Some(&ended.access_token), None).await;
        assert!(!after.is_authorized, "a logged-out session's token still passed");
        assert!(decide(&env, "GET /hello", Some(&other.access_token), None).await.is_authorized, "only that session");
        // Its 30 days over: refused, though the token itself is still valid.
        let old = env.sign_in(&user, None).await;
        let started = env.app.now().timestamp() - shared::domain::SESSION_MAX_SECS - 1;
        env.clients
            .dynamo
            .update_item()
            .table_name(env.app.repo.table())
            .key("pk", AttributeValue::S(format!("USER#{}", user.id)))
            .key("sk", AttributeValue::S(format!("SESSION#{}", old.record.session_id)))
            .update_expression("SET startedAt = :started")
            .expression_attribute_values(":started", AttributeValue::N(started.to_string()))
            .send()
            .await
            .unwrap();
        assert!(!decide(&env, "GET /hello", Some(&old.access_token), None).await.is_authorized, "past its end");
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
