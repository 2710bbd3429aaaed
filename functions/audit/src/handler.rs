//! `GET /auth/audit`: the caller's own security log, newest first, at most 50.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::App;
use shared::audit::{EventView, MAX_LISTED};
use shared::auth::{AdminRule, authenticate};
use shared::error::ApiError;
use shared::http::json_response;

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let events = app.repo.recent_events(&caller.user.id, app.now().timestamp(), MAX_LISTED).await?;
    let events: Vec<EventView> = events.iter().map(EventView::from).collect();
    Ok(json_response(StatusCode::OK, &json!({ "events": events })))
}
