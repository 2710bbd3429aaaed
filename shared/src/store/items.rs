//! Reading and writing DynamoDB attribute maps.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::ApiError;

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn b(value: impl Into<Vec<u8>>) -> AttributeValue {
    AttributeValue::B(Blob::new(value.into()))
}

pub(super) fn bool(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

pub(super) fn ss(values: &[String]) -> AttributeValue {
    AttributeValue::Ss(values.to_vec())
}

fn corrupt(attr: &str) -> ApiError {
    ApiError::internal(format!("stored item has a missing or malformed attribute {attr}"))
}

/// Typed reads of attributes; a malformed item is an internal error.
pub(super) trait ItemExt {
    fn str(&self, attr: &str) -> Result<&str, ApiError>;
    fn opt_str(&self, attr: &str) -> Result<Option<&str>, ApiError>;
    fn num(&self, attr: &str) -> Result<i64, ApiError>;
    fn opt_num(&self, attr: &str) -> Result<Option<i64>, ApiError>;
    fn flag(&self, attr: &str) -> Result<bool, ApiError>;
    fn opt_bytes(&self, attr: &str) -> Result<Option<&[u8]>, ApiError>;
    fn str_set(&self, attr: &str) -> Result<Vec<String>, ApiError>;
}

impl ItemExt for Item {
    fn str(&self, attr: &str) -> Result<&str, ApiError> {
        self.opt_str(attr)?.ok_or_else(|| corrupt(attr))
    }

    fn opt_str(&self, attr: &str) -> Result<Option<&str>, ApiError> {
        match self.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(corrupt(attr)),
        }
    }

    fn num(&self, attr: &str) -> Result<i64, ApiError> {
        self.opt_num(attr)?.ok_or_else(|| corrupt(attr))
    }

    fn opt_num(&self, attr: &str) -> Result<Option<i64>, ApiError> {
        match self.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| corrupt(attr)),
            Some(_) => Err(corrupt(attr)),
        }
    }

    fn flag(&self, attr: &str) -> Result<bool, ApiError> {
        match self.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(false),
            Some(AttributeValue::Bool(v)) => Ok(*v),
            Some(_) => Err(corrupt(attr)),
        }
    }

    fn opt_bytes(&self, attr: &str) -> Result<Option<&[u8]>, ApiError> {
        match self.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::B(v)) => Ok(Some(v.as_ref())),
            Some(_) => Err(corrupt(attr)),
        }
    }

    fn str_set(&self, attr: &str) -> Result<Vec<String>, ApiError> {
        match self.get(attr) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::Ss(v)) => Ok(v.clone()),
            Some(_) => Err(corrupt(attr)),
        }
    }
}
