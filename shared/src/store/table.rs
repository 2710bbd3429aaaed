//! The table's shape, for the local stack and tests (the SAM template declares
//! the same for AWS).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};

use crate::error::ApiError;

/// Creates the table (on-demand, `pk`/`sk` strings) and turns TTL on for `ttl`.
pub async fn create_table(client: &Client, name: &str) -> Result<(), ApiError> {
    let attribute =
        |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build();
    let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk").map_err(ApiError::internal)?)
        .attribute_definitions(attribute("sk").map_err(ApiError::internal)?)
        .key_schema(key("pk", KeyType::Hash).map_err(ApiError::internal)?)
        .key_schema(key("sk", KeyType::Range).map_err(ApiError::internal)?)
        .send()
        .await
        .map_err(ApiError::aws)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("ttl")
                .build()
                .map_err(ApiError::internal)?,
        )
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(())
}
