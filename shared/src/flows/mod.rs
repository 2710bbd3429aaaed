//! The steps several routes (and testkit and authctl) share: creating an
//! account, a user's factors, checking a second factor, issuing a session,
//! the operator's commands. They take the `App`, never a request or a cookie.

pub mod accounts;
pub mod factors;
pub mod operator;
pub mod second_factor;
pub mod session;
