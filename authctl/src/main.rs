//! `authctl`: the operator's commands, run with ordinary AWS credentials
//! against a deployed table (or the local stack, through AWS_ENDPOINT_URL).
//!
//! ```text
//! authctl --table <table-name> grant-admin <email>
//! authctl --table <table-name> revoke-admin <email>
//! authctl --table <table-name> reset-2fa <email>
//! authctl --table <table-name> rotate-signing-key [--lead <seconds>]
//! authctl --table <table-name> retire-signing-key <kid>
//! authctl --table <table-name> init
//! authctl --table <table-name> migrate-factors
//! ```
//!
//! The key commands also need `KMS_KEY_ID` (the stack's key). `init` creates
//! the keyring's first keys (a data key, the key that authenticates signing
//! keys, the first signing key) unless they exist: `make deploy` runs it, since
//! no function may create keys. `rotate-signing-key` publishes the next key,
//! which signs after 5 minutes + the lead (at least 300 s; default 7200).
//! `retire-signing-key` is for a leaked key: it goes at once, and a successor
//! signs at once. `migrate-factors`, once after upgrading a stack deployed
//! before several factors, moves each user's authenticator app into the
//! factors map (until then those users' requests fail closed with a 500).
//!
//! `MAIL_FROM` and `WEB_BASE_URL` (as the stack's parameters) say where the
//! user's notice of a 2FA reset comes from and where its link leads; `ISSUER`
//! names the service in it (default `TwoFA`).

use std::process::ExitCode;
use std::sync::Arc;

use shared::app::Clients;
use shared::app::keyring::{Keyring, initialise};
use shared::clock::{Clock, SystemClock, rfc3339};
use shared::config::MailConfig;
use shared::crypto::DEFAULT_LEAD_SECS;
use shared::domain::Email;
use shared::error::ErrorChain;
use shared::flows::operator::{self, Command, Outcome, retire_signing_key, rotate_signing_key};
use shared::mail::Mailer;
use shared::store::Repo;

const USAGE: &str = "usage: authctl --table <table-name> (grant-admin | revoke-admin | reset-2fa) <email>\n       \
                     authctl --table <table-name> rotate-signing-key [--lead <seconds>]\n       \
                     authctl --table <table-name> retire-signing-key <kid>\n       \
                     authctl --table <table-name> init\n       \
                     authctl --table <table-name> migrate-factors";

/// A command on the keyring.
enum KeyCommand {
    Init,
    Rotate { lead_secs: i64 },
    Retire { kid: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, table, command, rest @ ..] = args.as_slice()
        && flag == "--table"
        && ["init", "rotate-signing-key", "retire-signing-key"].contains(&command.as_str())
    {
        let key_command = match (command.as_str(), rest) {
            ("init", []) => KeyCommand::Init,
            ("rotate-signing-key", []) => KeyCommand::Rotate { lead_secs: DEFAULT_LEAD_SECS },
            ("rotate-signing-key", [flag, seconds]) if flag == "--lead" => match seconds.parse() {
                Ok(lead_secs) => KeyCommand::Rotate { lead_secs },
                Err(_) => return fail(USAGE),
            },
            ("retire-signing-key", [kid]) => KeyCommand::Retire { kid: kid.clone() },
            _ => return fail(USAGE),
        };
        return keys(table, key_command).await;
    }
    if let [flag, table, command] = args.as_slice()
        && flag == "--table"
        && command == "migrate-factors"
    {
        return migrate_factors(table).await;
    }
    let (table, command, email) = match args.as_slice() {
        [flag, table, command, email] if flag == "--table" => (table, command, email),
        _ => return fail(USAGE),
    };
    let command = match command.as_str() {
        "grant-admin" => Command::GrantAdmin,
        "revoke-admin" => Command::RevokeAdmin,
        "reset-2fa" => Command::ResetTwofa,
        _ => return fail(USAGE),
    };
    let Ok(email) = Email::parse(email) else { return fail("that is not a valid email address") };

    let mail = match (std::env::var("MAIL_FROM"), std::env::var("WEB_BASE_URL")) {
        (Ok(from), Ok(web_base_url)) => MailConfig {
            from,
            web_base_url,
            configuration_set: std::env::var("MAIL_CONFIGURATION_SET").ok().filter(|set| !set.is_empty()),
            anonymous_per_minute: shared::config::DEFAULT_ANONYMOUS_MAIL_PER_MINUTE,
        },
        _ => {
            return fail(
                "set MAIL_FROM and WEB_BASE_URL (the stack's sender and web front end) for the user's notices",
            );
        }
    };
    let issuer = std::env::var("ISSUER").unwrap_or_else(|_| "TwoFA".into());
    lambda_http::tracing::init_default_subscriber();

    let sdk = shared::aws::sdk_config().await;
    let clients = Clients::new(&sdk);
    let repo = Repo::new(clients.dynamo, table.clone());
    let mailer = Mailer::new(clients.ses, mail, issuer);
    match operator::run(&repo, &mailer, &SystemClock, command, &email).await {
        Ok(Outcome::Done { user_id }) => {
            println!("{command:?} done for {} (user {user_id}); every session of the user has ended", email.as_str());
            ExitCode::SUCCESS
        }
        Ok(Outcome::AlreadySo { user_id }) => {
            println!("nothing to do: {} (user {user_id}) is already so", email.as_str());
            ExitCode::SUCCESS
        }
        Ok(Outcome::NoSuchUser) => fail(&format!("no account has the email {}", email.as_str())),
        Ok(Outcome::EmailUnverified { user_id }) => fail(&format!(
            "refused: {} (user {user_id}) has not verified its email address, so whoever registered it may not be \
             its owner; the admin role goes only to a verified address",
            email.as_str()
        )),
        Err(err) => fail(&format!("failed: {}", ErrorChain(&err))),
    }
}

async fn keys(table: &str, command: KeyCommand) -> ExitCode {
    let Ok(kms_key_id) = std::env::var("KMS_KEY_ID") else {
        return fail("set KMS_KEY_ID to the stack's KMS key (the KeyArn output)");
    };
    lambda_http::tracing::init_default_subscriber();
    let sdk = shared::aws::sdk_config().await;
    let clients = Clients::new(&sdk);
    let repo = Repo::new(clients.dynamo, table);
    let keyring = Keyring::new(clients.kms.clone(), repo.clone(), kms_key_id.clone(), Arc::new(SystemClock));
    let done = match command {
        KeyCommand::Init => initialise(&clients.kms, &repo, &kms_key_id, Arc::new(SystemClock)).await.map(|init| {
            if init.created.is_empty() {
                "the keyring was already initialised: nothing to do".to_string()
            } else {
                format!("created {}", init.created.join(", "))
            }
        }),
        KeyCommand::Rotate { lead_secs } => {
            rotate_signing_key(&keyring, &repo, &SystemClock, lead_secs).await.map(|rotation| {
                format!(
                    "published {}: it signs access tokens from {}; {} signs until then{}",
                    rotation.published,
                    rfc3339(rotation.signs_from),
                    rotation.signing_now,
                    if rotation.removed.is_empty() {
                        String::new()
                    } else {
                        format!("; removed {} (no token they signed is still valid)", rotation.removed.join(", "))
                    }
                )
            })
        }
        KeyCommand::Retire { kid } => retire_signing_key(&keyring, &repo, &SystemClock, &kid).await.map(|retired| {
            format!(
                "removed {}: containers stop trusting it within 5 minutes, gateways when their key-set cache \
                 expires{}",
                retired.retired,
                retired.successor.map(|kid| format!("; {kid} signs from now")).unwrap_or_default()
            )
        }),
    };
    match done {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&format!("failed: {}", ErrorChain(&err))),
    }
}

async fn migrate_factors(table: &str) -> ExitCode {
    lambda_http::tracing::init_default_subscriber();
    let sdk = shared::aws::sdk_config().await;
    let repo = Repo::new(Clients::new(&sdk).dynamo, table);
    match repo.migrate_factors(SystemClock.now().timestamp()).await {
        Ok(migrated) => {
            println!(
                "moved {} authenticator app(s) into the factors list; {} changed meanwhile and were left as they are",
                migrated.moved, migrated.skipped
            );
            ExitCode::SUCCESS
        }
        Err(err) => fail(&format!("failed: {}", ErrorChain(&err))),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}
