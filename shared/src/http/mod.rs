//! The HTTP edge: reading requests, writing responses, cookies, request and
//! response bodies, authenticating the caller, and the runner every function
//! starts with.

mod auth;
mod bodies;
mod cookies;
mod request;
mod response;
mod serve;
mod views;

pub use auth::{
    AdminRule, Caller, access_claims, authenticate, authenticate_with_overview, body_of_signed_in, current_session,
    presented_claims, still_signed_in,
};
pub use bodies::{Credentials, NameBody, PasskeyProof, SecondFactorBody, VerifyLoginBody};
pub use cookies::{ACCESS_COOKIE, DEVICE_COOKIE, REFRESH_COOKIE, TWOFA_COOKIE};
pub use request::{bearer_token, cookie, json_body, optional_json_body};
pub use response::{json_response, no_content, public_json_response, with_cookies};
pub use serve::{process, serve};
pub use views::{DeviceView, EventView, FactorView, SessionView, UserView};
