//! Mail through Amazon SES v2: the verification and password-reset links, and
//! the security notices. Templates are files (`templates/mail/`, checked at
//! compile time), each with a text and an HTML part. No mail holds a secret,
//! a code or a session token; a link mail holds its own link token, nothing
//! else. A failure to send is logged and never fails the action behind it.

mod mailer;
mod token;

pub use mailer::{Mail, Mailer, RESET_TTL_SECS, VERIFY_TTL_SECS};
pub use token::MailToken;
