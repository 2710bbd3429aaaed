//! Prints the code an authenticator app shows now for a base32 secret, using
//! the project's own TOTP (checked against the RFC 6238 vectors). For the
//! README's curl walk-through; `oathtool --totp -b SECRET` gives the same.
//!
//! Usage: totp <base32-secret> [offset-seconds]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(secret) = args.first().and_then(|s| shared::factors::totp::TotpSecret::from_base32(s)) else {
        eprintln!("usage: totp <base32-secret> [offset-seconds]");
        std::process::exit(2);
    };
    let offset: i64 = args.get(1).and_then(|o| o.parse().ok()).unwrap_or(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    println!("{}", shared::factors::totp::code_at(&secret, (now + offset) as u64));
}
