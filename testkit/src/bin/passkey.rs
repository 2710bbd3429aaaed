//! A software passkey for the README's curl walk-through (what a browser and
//! an authenticator do, in one small program; the tests use the same one).
//! The credential (its private key and counter) lives in a state file.
//!
//! Usage, with the server's answer on standard input:
//!   passkey register <state-file> [origin]   the answer of /auth/factors/passkey/options
//!                                            → the body for /auth/factors/passkey
//!   passkey sign <state-file> [origin]       the answer of /auth/2fa/challenge
//!                                            → the `{"ceremonyId", "credential"}` of a `"passkey"` proof
//! The origin is the web front end's (default http://localhost:4200, `make dev`'s).

use std::io::Read;
use std::process::ExitCode;

use serde_json::{Value, json};
use testkit::passkey::{Behaviour, SoftPasskey, Tamper};

const USAGE: &str = "usage: passkey register|sign <state-file> [origin]  (the server's answer on stdin)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(command), Some(state_file)) = (args.first(), args.get(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let origin = args.get(2).map_or("http://localhost:4200", String::as_str);
    match run(command, state_file, origin) {
        Ok(body) => {
            println!("{body}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("passkey: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(command: &str, state_file: &str, origin: &str) -> Result<Value, String> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| format!("reading stdin: {e}"))?;
    let answer: Value = serde_json::from_str(&input).map_err(|e| format!("stdin is not JSON: {e}"))?;
    let (Some(ceremony_id), Some(public_key)) = (answer["ceremonyId"].as_str(), answer.get("publicKey")) else {
        return Err(format!("stdin is not a ceremony's options: {input}"));
    };
    match command {
        "register" => {
            if public_key["rp"]["id"].as_str().is_none() || public_key["user"]["id"].as_str().is_none() {
                return Err("not creation options (no rp.id or user.id)".into());
            }
            let (passkey, credential) = SoftPasskey::register(public_key, origin, Behaviour::default());
            save(state_file, &passkey)?;
            Ok(json!({ "ceremonyId": ceremony_id, "credential": credential }))
        }
        "sign" => {
            let mut passkey = load(state_file)?;
            let credential = passkey.assert(public_key, origin, Tamper::default());
            save(state_file, &passkey)?;
            Ok(json!({ "ceremonyId": ceremony_id, "credential": credential }))
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

fn load(state_file: &str) -> Result<SoftPasskey, String> {
    let text = std::fs::read_to_string(state_file).map_err(|e| format!("{state_file}: {e} (register first)"))?;
    serde_json::from_str(&text).map_err(|e| format!("{state_file}: {e}"))
}

fn save(state_file: &str, passkey: &SoftPasskey) -> Result<(), String> {
    let text = serde_json::to_string(passkey).expect("a passkey serializes");
    std::fs::write(state_file, text).map_err(|e| format!("{state_file}: {e}"))
}
