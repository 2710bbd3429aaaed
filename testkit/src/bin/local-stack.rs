//! Prepares the local stack in moto: the table and the KMS key (with an alias)
//! that the functions' `TABLE_NAME` and `KMS_KEY_ID` name, the keyring's first
//! keys (as `authctl init` makes them at a deployment), and the SES sender
//! identity of `MAIL_FROM` (moto's SES refuses mail from an unverified
//! sender). Idempotent.
//!
//! Usage: local-stack <table-name> <key-alias>   (AWS_ENDPOINT_URL points at moto)

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, alias] = args.as_slice() else {
        return Err("usage: local-stack <table-name> <key-alias>".into());
    };
    let sdk = testkit::moto_sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let kms = aws_sdk_kms::Client::new(&sdk);

    let tables = dynamo.list_tables().send().await?.table_names.unwrap_or_default();
    if !tables.contains(table) {
        shared::store::table::create_table(&dynamo, table).await?;
        println!("created table {table}");
    }
    let aliases = kms.list_aliases().send().await?.aliases.unwrap_or_default();
    if !aliases.iter().any(|a| a.alias_name() == Some(alias)) {
        let key = kms.create_key().description("twofa local key").send().await?;
        let key_id = key.key_metadata.ok_or("no key metadata")?.key_id;
        kms.create_alias().alias_name(alias).target_key_id(key_id).send().await?;
        println!("created KMS key {alias}");
    }
    let repo = shared::store::Repo::new(dynamo.clone(), table.clone());
    let init =
        shared::app::keyring::initialise(&kms, &repo, alias, std::sync::Arc::new(shared::clock::SystemClock)).await?;
    if !init.created.is_empty() {
        println!("created {}", init.created.join(", "));
    }
    let sender = std::env::var("MAIL_FROM").map_err(|_| "MAIL_FROM is not set")?;
    let ses = aws_sdk_sesv2::Client::new(&sdk);
    let identities = ses.list_email_identities().send().await?.email_identities.unwrap_or_default();
    if !identities.iter().any(|i| i.identity_name() == Some(sender.as_str())) {
        ses.create_email_identity().email_identity(&sender).send().await?;
        println!("created SES identity {sender}");
    }
    Ok(())
}
