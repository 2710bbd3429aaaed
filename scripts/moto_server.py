"""moto's server, answering one AWS request at a time, with a cheaper
TransactWriteItems.

DynamoDB makes every operation atomic and isolated; moto does not under
threads: a TransactWriteItems writes its items one by one, and a cancelled one
restores a snapshot (moto's own: of the whole table), which can erase or
resurrect what a concurrent request wrote (seen: one successful registration
out of twenty leaving two profiles). Serialising the requests gives exactly
DynamoDB's per-operation guarantees. Races between operations, which is what
our conditions guard, still happen in the tests: their handlers interleave
between calls.

moto 5.2.5's transact_write_items deep-copies every table it writes to, once
per item of the transaction, so that it can roll back: a transaction costs
O(items in the table), and on a developer's growing table the SDK's 3 s timeout
turns that into 503s. The replacement below is moto 5.2.5's function with only
the rollback changed (it copies, then restores, just the items the transaction
touches); start-up fails on any other moto version, so that an upgrade
re-examines it. scripts/check_moto_transactions.py measures and checks it.

Two more costs that grow with use are cut the same way. moto's Query on a
table sorts every item of the table to pick one partition (650 ms per Query
on 50,000 items): `query` below hands it only that partition. And moto keeps
every model object it ever made in a class-level list (for its dashboard and
`/moto-api/data.json`): every DynamoDB item version, copies included, stays
in memory for the server's life; only SES messages are kept here, which is
what `make mail` and the tests read from data.json.

Usage: python scripts/moto_server.py HOST PORT
"""

import copy
import inspect
import sys
import threading
from importlib.metadata import version
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

MOTO_VERSION = "5.2.5"


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's DynamoDBBackend.transact_write_items, rolling back per item.

    Table.items is {hash: Item} without a range key, {hash: {range: Item}}
    with one (a defaultdict: a lookup of an absent hash leaves an empty
    dict). Besides that dict, put_item, delete_item and update_item change
    only the stream shard's records (those already handed to a Lambda event
    source mapping stay handed). update_item changes the Item in place, hence
    the deep copies. The dicts' order is not restored: every read (all_items,
    sorted_items) sorts.
    """
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    # (table, hash, range, whether the range table had the hash, the item or None)
    touched: list[tuple[Any, Any, Any, bool, Any]] = []
    stream_lengths: dict[int, tuple[Any, int]] = {}

    def snapshot(table_name: str, key: dict[str, Any]) -> None:
        table = self.get_table(table_name)
        hash_key, range_key = self.get_keys_value(table, key)
        if table.has_range_key:
            had_hash = hash_key in table.items
            item = table.items[hash_key].get(range_key) if had_hash else None
        else:
            had_hash, item = True, table.items.get(hash_key)
        touched.append((table, hash_key, range_key, had_hash, copy.deepcopy(item)))
        if table.stream_shard is not None:
            stream_lengths.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))

    def rollback() -> None:
        for table, hash_key, range_key, had_hash, item in reversed(touched):
            items, key = (table.items[hash_key], range_key) if table.has_range_key else (table.items, hash_key)
            if item is None:
                items.pop(key, None)
            else:
                items[key] = item
            if table.has_range_key and not had_hash and not items:
                del table.items[hash_key]
        for shard, length in stream_lengths.values():
            del shard.items[length:]

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []  # [(Code, Message, Item), ..]
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        # Check transact writes are not performing multiple operations on the same item
        if len(list(item.keys())) > 1:
            rollback()  # moto 5.2.5 keeps the items before this one written
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)
            snapshot(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                self.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                self.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            # Rollback to the original state, and reraise the error
            rollback()
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore
        except Exception as e:  # noqa: E722 Do not use bare except
            # For other exceptions, capture their details
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore

    if any(code is not None for code, _, _ in errors):
        # Rollback to the original state, and reraise the errors
        rollback()
        raise TransactionCanceledException(errors)


_table_query = Table.query
_query_signature = inspect.signature(_table_query)


def query(self: Table, *args: Any, **kwargs: Any) -> Any:
    """moto's Table.query, shown only the queried partition when it reads the
    table itself (not an index): the same results, without sorting the table."""
    call = _query_signature.bind(self, *args, **kwargs)
    hash_key = call.arguments.get("hash_key")
    if call.arguments.get("index_name") or not self.range_key_attr or hash_key is None:
        return _table_query(self, *args, **kwargs)
    partition = list(self.items[hash_key].values()) if hash_key in self.items else []
    self.all_items = lambda: sorted(partition, key=lambda item: item.range_key)  # type: ignore[method-assign]
    try:
        return _table_query(self, *args, **kwargs)
    finally:
        del self.all_items


def track_only_mail(cls: type, *args: Any, **kwargs: Any) -> Any:
    """BaseModel.__new__, remembering only SES's models (data.json's mail)."""
    instance = object.__new__(cls)
    if cls.__module__.startswith("moto.ses"):
        cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
    return instance


def main() -> None:
    if version("moto") != MOTO_VERSION:
        sys.exit(
            f"scripts/moto_server.py replaces moto {MOTO_VERSION}'s DynamoDB transact_write_items, "
            f"but moto {version('moto')} is installed: compare the two and update the replacement"
        )
    DynamoDBBackend.transact_write_items = transact_write_items
    Table.query = query
    BaseModel.__new__ = staticmethod(track_only_mail)  # type: ignore[assignment]
    host, port = sys.argv[1], int(sys.argv[2])
    backends = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            return list(backends(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
