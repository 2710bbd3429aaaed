//! `POST /auth/logout-all`: every session of the user ends (token version + 1).

use lambda_http::{Body, Request, Response};
use shared::domain::{ClientInfo, EventKind};
use shared::http::{AdminRule, authenticate, no_content, with_cookies};
use shared::store::{Write, writes};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let mut commit: Vec<Write> = writes::bump_version(&caller.user).into();
    commit.extend(writes::audit(
        &caller.user.id,
        &[EventKind::LogoutAll],
        app.now().timestamp_millis(),
        &ClientInfo::of(&req),
    ));
    app.repo.commit(commit).await?;
    // The caller's own tokens are dead too; clearing them saves the client a 401.
    Ok(with_cookies(no_content(), app.config.cookies.clear_all()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::{TestEnv, call, event};

    #[tokio::test]
    async fn every_session_of_the_user_ends_and_others_are_untouched() {
        let env = TestEnv::new().await;
        let user = env.register("hal@example.com").await;
        let other = env.register("ida@example.com").await;
        let first = env.sign_in(&user, None).await;
        let second = env.sign_in(&user, None).await;

        let reply = call(&env, handle, event("logout-all").cookie("access_token", &first.access_token).request()).await;
        assert_eq!(reply.status(), 204);
        assert_eq!(reply.cookie("access_token").as_deref(), Some(""));

        for token in [&first.access_token, &second.access_token] {
            let again = call(&env, handle, event("logout-all").cookie("access_token", token).request()).await;
            assert_eq!(again.status(), 401);
        }
        assert_eq!(env.user(&user.id).await.version, user.version + 1);
        assert_eq!(env.user(&other.id).await.version, other.version);
    }

    #[tokio::test]
    async fn without_a_token_it_is_401() {
        let env = TestEnv::new().await;
        let reply = call(&env, handle, event("logout-all").cookies::<&str>(&[]).request()).await;
        assert_eq!(reply.status(), 401);
    }
}
