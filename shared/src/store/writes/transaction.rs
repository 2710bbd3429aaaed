//! One write of a transaction, and the runner that commits a use case's
//! writes at once and turns a refused condition into the error its write names.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use crate::aws::is_transient_code;
use crate::error::ApiError;
use crate::store::items::Item;
use crate::store::repo::Repo;

pub(super) type Conflict = Box<dyn Fn(&Item) -> ApiError + Send + Sync>;

pub(super) enum Op {
    Put {
        item: Item,
        condition: Option<&'static str>,
    },
    Update {
        key: Item,
        expression: String,
        condition: String,
        names: HashMap<String, String>,
    },
    Delete {
        key: Item,
        condition: Option<String>,
    },
    /// A condition on an item the transaction does not write.
    Check {
        key: Item,
        condition: String,
    },
}

/// One write of a transaction.
pub struct Write {
    op: Op,
    values: HashMap<String, AttributeValue>,
    /// What a refused condition means, given the item as it was.
    conflict: Conflict,
}

impl Write {
    pub(super) fn new(op: Op, conflict: impl Fn(&Item) -> ApiError + Send + Sync + 'static) -> Self {
        Write { op, values: HashMap::new(), conflict: Box::new(conflict) }
    }

    pub(super) fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_string(), value);
        self
    }

    /// An expression attribute name (for reserved words such as `role`).
    pub(super) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        if let Op::Update { names, .. } = &mut self.op {
            names.insert(placeholder.to_string(), attribute.to_string());
        }
        self
    }
}

pub(super) fn never(_: &Item) -> ApiError {
    ApiError::internal("an unconditional write was refused")
}

fn transact_item(op: Op, values: HashMap<String, AttributeValue>, table: &str) -> Result<TransactWriteItem, ApiError> {
    let values = (!values.is_empty()).then_some(values);
    let all_old = ReturnValuesOnConditionCheckFailure::AllOld;
    let item = match op {
        Op::Put { item, condition } => TransactWriteItem::builder().put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_string))
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(ApiError::internal)?,
        ),
        Op::Update { key, expression, condition, names } => TransactWriteItem::builder().update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names((!names.is_empty()).then_some(names))
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(ApiError::internal)?,
        ),
        Op::Delete { key, condition } => TransactWriteItem::builder().delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key))
                .set_condition_expression(condition)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(ApiError::internal)?,
        ),
        Op::Check { key, condition } => TransactWriteItem::builder().condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression(condition)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(ApiError::internal)?,
        ),
    };
    Ok(item.build())
}

impl Repo {
    /// Applies writes atomically: one `PutItem` when there is a single
    /// unconditional put, else one `TransactWriteItems`. A refused condition
    /// becomes the error its write names.
    pub async fn commit(&self, mut writes: Vec<Write>) -> Result<(), ApiError> {
        if writes.len() == 1 && matches!(writes[0].op, Op::Put { condition: None, .. }) {
            let Op::Put { item, .. } = writes.remove(0).op else { unreachable!() };
            self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(ApiError::aws)?;
            return Ok(());
        }
        let mut items = Vec::with_capacity(writes.len());
        let mut conflicts = Vec::with_capacity(writes.len());
        for Write { op, values, conflict } in writes {
            items.push(transact_item(op, values, &self.table)?);
            conflicts.push(conflict);
        }
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        if !matches!(err.as_service_error(), Some(TransactWriteItemsError::TransactionCanceledException(_))) {
            return Err(ApiError::aws(err));
        }
        let TransactWriteItemsError::TransactionCanceledException(cancelled) = err.into_service_error() else {
            unreachable!("checked above")
        };
        let reasons = cancelled.cancellation_reasons();
        for (reason, conflict) in reasons.iter().zip(&conflicts) {
            if reason.code() == Some("ConditionalCheckFailed") {
                return Err(conflict(&reason.item().cloned().unwrap_or_default()));
            }
        }
        // Nothing was written. Another transaction on the same items or
        // throttling may pass on a retry; any other reason is a bug.
        let transient = reasons.iter().filter_map(|r| r.code()).filter(|code| *code != "None").all(is_transient_code);
        if transient { Err(ApiError::unavailable(cancelled)) } else { Err(ApiError::internal(cancelled)) }
    }
}

pub(super) fn update(key: Item, expression: impl Into<String>, condition: impl Into<String>) -> Op {
    Op::Update { key, expression: expression.into(), condition: condition.into(), names: HashMap::new() }
}
