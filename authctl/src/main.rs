//! `authctl`: the operator's commands, run with ordinary AWS credentials
//! against a deployed table (or the local stack, through AWS_ENDPOINT_URL).
//!
//! ```text
//! authctl --table <table-name> grant-admin <email>
//! authctl --table <table-name> revoke-admin <email>
//! authctl --table <table-name> reset-2fa <email>
//! ```

use std::process::ExitCode;

use shared::clock::SystemClock;
use shared::domain::Email;
use shared::operator::{self, Command, Outcome};
use shared::repo::Repo;

const USAGE: &str = "usage: authctl --table <table-name> (grant-admin | revoke-admin | reset-2fa) <email>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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

    let sdk = shared::aws::sdk_config().await;
    let repo = Repo::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone());
    match operator::run(&repo, &SystemClock, command, &email).await {
        Ok(Outcome::Done { user_id }) => {
            println!("{command:?} done for {} (user {user_id}); every session of the user has ended", email.as_str());
            ExitCode::SUCCESS
        }
        Ok(Outcome::AlreadySo { user_id }) => {
            println!("nothing to do: {} (user {user_id}) is already so", email.as_str());
            ExitCode::SUCCESS
        }
        Ok(Outcome::NoSuchUser) => fail(&format!("no account has the email {}", email.as_str())),
        Err(err) => {
            let mut message = format!("failed: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            fail(&message)
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::FAILURE
}
