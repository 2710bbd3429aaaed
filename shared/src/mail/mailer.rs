//! The `Mailer`: link mails and security notices, rendered from their
//! templates and sent with SES `SendEmail`.

use askama::Template;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::token::MailToken;
use crate::config::MailConfig;
use crate::domain::{ClientInfo, Email, EventKind, describe_agent};
use crate::error::{ApiError, ErrorChain};

/// A verification link works this long.
pub const VERIFY_TTL_SECS: i64 = 24 * 60 * 60;
/// A password-reset link works this long.
pub const RESET_TTL_SECS: i64 = 30 * 60;

/// Sends the service's mail from the configured sender.
pub struct Mailer {
    ses: aws_sdk_sesv2::Client,
    config: MailConfig,
    issuer: String,
}

/// A rendered mail, ready to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

struct LinkMail<'a> {
    issuer: &'a str,
    lead: &'a str,
    action: &'a str,
    link: String,
    valid_for: &'a str,
    not_you: &'a str,
}

#[derive(Template)]
#[template(path = "mail/link.txt")]
struct LinkText<'a> {
    m: &'a LinkMail<'a>,
}

#[derive(Template)]
#[template(path = "mail/link.html")]
struct LinkHtml<'a> {
    m: &'a LinkMail<'a>,
}

struct NoticeMail<'a> {
    issuer: &'a str,
    subject: String,
    what: &'static str,
    detail: Option<String>,
    when: String,
    from: String,
    agent: String,
    recover: String,
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a> {
    m: &'a NoticeMail<'a>,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    m: &'a NoticeMail<'a>,
}

/// The last mail of a deleted account: a notice whose advice is its own.
#[derive(Template)]
#[template(path = "mail/deleted.txt")]
struct DeletedText<'a> {
    m: &'a NoticeMail<'a>,
}

#[derive(Template)]
#[template(path = "mail/deleted.html")]
struct DeletedHtml<'a> {
    m: &'a NoticeMail<'a>,
}

/// What a notice says for each event that has one (API.md's list).
fn notice_of(kind: EventKind) -> Option<(&'static str, &'static str)> {
    use EventKind::*;
    Some(match kind {
        TwofaEnabled => {
            ("Two-factor authentication is on", "Two-factor authentication was turned on for your account.")
        }
        TwofaDisabled => {
            ("Two-factor authentication is off", "Two-factor authentication was turned off for your account.")
        }
        BackupCodesRegenerated => {
            ("New backup codes", "New backup codes were made for your account; the old ones no longer work.")
        }
        BackupCodeUsed => {
            ("A backup code was used", "A backup code was used to prove the second factor of your account.")
        }
        Lockout => (
            "Sign-in locked for now",
            "There were too many wrong attempts to sign in to your account, so it is locked for 15 minutes.",
        ),
        RefreshReuse => (
            "A session was ended",
            "A sign-in token of your account was used twice, which can mean it was copied; that session was ended.",
        ),
        PasswordReset => (
            "Your password was reset",
            "The password of your account was reset with a link from this address, and every session was ended.",
        ),
        PasswordChanged => (
            "Your password was changed",
            "The password of your account was changed, and every other session was ended.",
        ),
        FactorAdded => (
            "A second factor was added",
            "A second factor (an authenticator app or a passkey) was added to your account.",
        ),
        FactorRemoved => (
            "A second factor was removed",
            "A second factor was removed from your account, and every other session was ended.",
        ),
        TwofaReset => (
            "Two-factor authentication was reset",
            "An operator of the service reset two-factor authentication for your account, and every session was ended.",
        ),
        EmailChangeRequested => (
            "A change of your email address was asked for",
            "Someone signed in to your account asked to change its email address. Nothing changes until the link mailed to the new address is used.",
        ),
        EmailChanged => (
            "The email address of your account was changed",
            "The email address of your account was changed, and every session was ended.",
        ),
        _ => return None,
    })
}

impl Mailer {
    pub fn new(ses: aws_sdk_sesv2::Client, config: MailConfig, issuer: String) -> Self {
        Mailer { ses, config, issuer }
    }

    /// The address verification mail, with its link to the web front end.
    pub fn verification(&self, token: &MailToken) -> Mail {
        self.link_mail(
            "Confirm your email address",
            &format!("Confirm that this is the address of your {} account.", self.issuer),
            "Confirm your email address",
            format!("{}/verify-email#token={}", self.config.web_base_url, token.for_link()),
            "24 hours",
            "If you did not create this account, ignore this mail.",
        )
    }

    /// The password-reset mail, with its link to the web front end.
    pub fn password_reset(&self, token: &MailToken) -> Mail {
        self.link_mail(
            "Reset your password",
            &format!("Someone asked to reset the password of your {} account.", self.issuer),
            "Choose a new password",
            format!("{}/reset-password#token={}", self.config.web_base_url, token.for_link()),
            "30 minutes",
            "If you did not ask for it, ignore this mail: your password stays as it is.",
        )
    }

    /// The link that confirms a new address, mailed to that address.
    pub fn email_change(&self, token: &MailToken) -> Mail {
        self.link_mail(
            "Confirm your new email address",
            &format!("Confirm that this is the new address of your {} account.", self.issuer),
            "Confirm your new address",
            format!("{}/verify-email#token={}", self.config.web_base_url, token.for_link()),
            "24 hours",
            "If you did not ask for this, ignore this mail: no account changes its address to this one.",
        )
    }

    fn link_mail(&self, subject: &str, lead: &str, action: &str, link: String, valid_for: &str, not_you: &str) -> Mail {
        let m = LinkMail { issuer: &self.issuer, lead, action, link, valid_for, not_you };
        Mail {
            subject: format!("{}: {subject}", self.issuer),
            text: LinkText { m: &m }.render().expect("the link template renders"),
            html: LinkHtml { m: &m }.render().expect("the link template renders"),
        }
    }

    /// The security notice of an event, if it has one. `detail` adds a line
    /// (how many backup codes remain).
    pub fn notice(&self, kind: EventKind, at_millis: i64, client: &ClientInfo, detail: Option<String>) -> Option<Mail> {
        let (title, what) = notice_of(kind)?;
        let m = self.notice_mail(title, what, detail, at_millis, client);
        Some(Mail {
            text: NoticeText { m: &m }.render().expect("the notice template renders"),
            html: NoticeHtml { m: &m }.render().expect("the notice template renders"),
            subject: m.subject,
        })
    }

    /// The last notice of an account, to its address: it was deleted.
    pub fn account_deleted(&self, at_millis: i64, client: &ClientInfo) -> Mail {
        let m = self.notice_mail(
            "Your account was deleted",
            "Your account was deleted, with its second factors, sessions and security log.",
            None,
            at_millis,
            client,
        );
        Mail {
            text: DeletedText { m: &m }.render().expect("the deleted template renders"),
            html: DeletedHtml { m: &m }.render().expect("the deleted template renders"),
            subject: m.subject,
        }
    }

    /// One `SendEmail` call.
    pub async fn send(&self, to: &Email, mail: Mail) -> Result<(), ApiError> {
        let utf8 = |data: String| Content::builder().data(data).charset("UTF-8").build().map_err(ApiError::internal);
        let message = Message::builder()
            .subject(utf8(mail.subject)?)
            .body(Body::builder().text(utf8(mail.text)?).html(utf8(mail.html)?).build())
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.config.from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.config.configuration_set.clone())
            .send()
            .await
            .map_err(ApiError::aws)?;
        Ok(())
    }

    /// [`Mailer::send`], with a failure logged instead of returned: mail
    /// never fails or undoes the action that caused it.
    pub async fn send_or_log(&self, to: &Email, mail: Mail) {
        let subject = mail.subject.clone();
        if let Err(err) = self.send(to, mail).await {
            tracing::error!(error = %ErrorChain(&err), subject, "mail not sent");
        }
    }

    fn notice_mail(
        &self,
        title: &str,
        what: &'static str,
        detail: Option<String>,
        at_millis: i64,
        client: &ClientInfo,
    ) -> NoticeMail<'_> {
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at_millis).unwrap_or_default();
        NoticeMail {
            issuer: &self.issuer,
            subject: format!("{}: {title}", self.issuer),
            what,
            detail,
            when: at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            from: client.ip.clone().unwrap_or_else(|| "an operator of the service".into()),
            agent: client.user_agent.as_deref().map_or_else(|| "none".into(), describe_agent),
            recover: format!("{}/forgot-password", self.config.web_base_url),
        }
    }

    /// A notice for each of `kinds` that has one, to `to`.
    pub async fn notify(
        &self,
        to: &Email,
        kinds: &[EventKind],
        at_millis: i64,
        client: &ClientInfo,
        backup_codes_left: Option<usize>,
    ) {
        for kind in kinds {
            let detail = (*kind == EventKind::BackupCodeUsed)
                .then_some(backup_codes_left)
                .flatten()
                .map(|left| format!("{left} backup code{} left.", if left == 1 { "" } else { "s" }));
            if let Some(mail) = self.notice(*kind, at_millis, client, detail) {
                self.send_or_log(to, mail).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer() -> Mailer {
        let sdk =
            aws_sdk_sesv2::Config::builder().behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest()).build();
        let config = MailConfig {
            from: "no-reply@example.com".into(),
            web_base_url: "https://app.example.com".into(),
            configuration_set: None,
            anonymous_per_minute: 120,
        };
        Mailer::new(aws_sdk_sesv2::Client::from_conf(sdk), config, "TwoFA".into())
    }

    #[test]
    fn link_mails_carry_their_link_in_both_parts_and_nothing_else_secret() {
        let token = MailToken::generate("u1");
        let mail = mailer().password_reset(&token);
        let link = format!("https://app.example.com/reset-password#token={}", token.for_link());
        assert!(mail.text.contains(&link) && mail.html.contains(&link), "{}", mail.text);
        assert_eq!(mail.subject, "TwoFA: Reset your password");
        assert!(!mail.text.contains(&token.hash()));
        let verify = mailer().verification(&token);
        assert!(verify.text.contains("/verify-email#token="));
    }

    #[test]
    fn notices_say_what_when_and_from_where_and_escape_what_the_client_sent() {
        let client = ClientInfo {
            ip: Some("198.51.100.7".into()),
            user_agent: Some("<b>Firefox/140.0</b> (X11; Linux x86_64)".into()),
        };
        let mail = mailer()
            .notice(EventKind::BackupCodeUsed, 1_800_000_000_123, &client, Some("9 backup codes left.".into()))
            .unwrap();
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("A backup code was used"));
            assert!(part.contains("2027-01-15 08:00:00 UTC"));
            assert!(part.contains("198.51.100.7"));
            assert!(part.contains("Firefox 140 on Linux"));
            assert!(part.contains("9 backup codes left."));
            assert!(!part.contains("<b>Firefox"), "the raw user agent reached the mail");
        }
        assert!(mailer().notice(EventKind::Login, 0, &client, None).is_none(), "a login sends no notice");
    }

    #[test]
    fn an_email_change_mails_its_own_link_and_notices_that_hold_no_token() {
        let token = MailToken::generate("u1");
        let mail = mailer().email_change(&token);
        let link = format!("https://app.example.com/verify-email#token={}", token.for_link());
        assert!(mail.text.contains(&link) && mail.html.contains(&link), "{}", mail.text);
        assert_eq!(mail.subject, "TwoFA: Confirm your new email address");
        assert!(mail.text.contains("new address"));
        let client = ClientInfo { ip: Some("198.51.100.7".into()), user_agent: None };
        for (kind, title) in [
            (EventKind::EmailChangeRequested, "A change of your email address was asked for"),
            (EventKind::EmailChanged, "The email address of your account was changed"),
        ] {
            let notice = mailer().notice(kind, 0, &client, Some("The new address is n@example.com.".into())).unwrap();
            assert_eq!(notice.subject, format!("TwoFA: {title}"));
            assert!(notice.text.contains("n@example.com") && !notice.text.contains("token="));
        }
        let deleted = mailer().account_deleted(1_800_000_000_123, &client);
        assert_eq!(deleted.subject, "TwoFA: Your account was deleted");
        for part in [&deleted.text, &deleted.html] {
            assert!(part.contains("2027-01-15 08:00:00 UTC") && part.contains("198.51.100.7"), "{part}");
            assert!(part.contains("free to sign up again") && !part.contains("reset your password"), "{part}");
        }
    }
}
