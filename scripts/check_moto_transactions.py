"""Checks that moto's TransactWriteItems and Query cost the same on a big table
as on an empty one, that a cancelled transaction leaves every item it touched
as it was, and that moto's data.json does not hold every item ever written
(scripts/moto_server.py says why moto needs a patch for this).

Fills TABLE with 50,000 synthetic items (5,000 users under `USER#fill-<n>`: a
hyphen, which the service's base32 ids never contain) and leaves them there, so
that the tests run afterwards run against a filled table. Then times 5-item
transactions in turn on TABLE and on a scratch table that holds only the
transactions' own items, and cancelled ones on TABLE, checking every item they
touched. Deletes its scratch table and its own items (`TXCHECK#<run>#...`).

Usage: python scripts/check_moto_transactions.py ENDPOINT_URL TABLE
Credentials come from the environment (any value: moto accepts them).
"""

import argparse
import json
import statistics
import sys
import time
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

S = lambda value: {"S": value}  # noqa: E731
N = lambda value: {"N": str(value)}  # noqa: E731


def fail(message: str) -> None:
    sys.exit(f"check_moto_transactions: FAILED: {message}")


def batch_write(ddb, table: str, requests: list[dict]) -> None:
    for start in range(0, len(requests), 25):
        pending = {table: requests[start : start + 25]}
        while pending:
            pending = ddb.batch_write_item(RequestItems=pending)["UnprocessedItems"]


def put_all(ddb, table: str, items: list[dict]) -> None:
    batch_write(ddb, table, [{"PutRequest": {"Item": item}} for item in items])


def fill(ddb, table: str, users: int) -> None:
    items = []
    for n in range(users):
        pk = S(f"USER#fill-{n:06d}")
        items.append({
            "pk": pk, "sk": S("PROFILE"), "email": S(f"fill-{n}@example.test"),
            "password_hash": S("$argon2id$v=19$m=19456,t=2,p=1$" + "x" * 64),
            "token_version": N(0), "created_at": N(1_700_000_000 + n),
        })
        for e in range(9):
            items.append({
                "pk": pk, "sk": S(f"EVT#{1_700_000_000_000 + e:013d}#fill{e}"),
                "event": S("login"), "ip": S("192.0.2.1"), "ttl": N(2_000_000_000),
                "user_agent": S("Mozilla/5.0 (X11; Linux x86_64) check_moto_transactions"),
            })
    put_all(ddb, table, items)


def seed(pk: str, sk: str) -> dict:
    """An existing item, with nested and set values so that an in-place change shows."""
    return {"pk": S(pk), "sk": S(sk), "n": N(0), "tags": {"SS": ["a", "b"]},
            "m": {"M": {"x": {"L": [S("old"), N(1)]}}}}


ALL_OLD = {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"}


def transaction(table: str, pk: str, cancel: bool) -> list[dict]:
    """Put a new item, update A, delete B, check C, update E: E's condition
    fails when `cancel`, after four items that would have succeeded."""
    key = lambda sk: {"pk": S(pk), "sk": S(sk)}  # noqa: E731
    exists = {"ConditionExpression": "attribute_exists(pk)", **ALL_OLD}
    bump = {"UpdateExpression": "SET #n = #n + :one, m.x[0] = :new ADD tags :more",
            "ConditionExpression": "#n = :zero", "ExpressionAttributeNames": {"#n": "n"},
            "ExpressionAttributeValues": {":one": N(1), ":zero": N(0), ":new": S("new"), ":more": {"SS": ["c"]}},
            **ALL_OLD}
    fifth = {"ConditionExpression": "#n <> :zero"} if cancel else {}
    return [
        {"Put": {"TableName": table, "Item": {"pk": S(pk), "sk": S("NEW"), "n": N(0)},
                 "ConditionExpression": "attribute_not_exists(pk)", **ALL_OLD}},
        {"Update": {"TableName": table, "Key": key("A"), **bump}},
        {"Delete": {"TableName": table, "Key": key("B"), **exists}},
        {"ConditionCheck": {"TableName": table, "Key": key("C"), **exists}},
        {"Update": {"TableName": table, "Key": key("E"), **bump, **fifth}},
    ]


def get(ddb, table: str, pk: str, sk: str) -> dict | None:
    return ddb.get_item(TableName=table, Key={"pk": S(pk), "sk": S(sk)}, ConsistentRead=True).get("Item")


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def run_successful(ddb, tables: list[str], run: str, count: int) -> list[list[float]]:
    """Times `count` transactions on each table, taking turns, so that both
    see the same load on the machine; checks what the last ones wrote."""
    pks = [f"TXCHECK#{run}#ok#{i}" for i in range(count)]
    times: list[list[float]] = [[] for _ in tables]
    for table in tables:
        put_all(ddb, table, [seed(pk, sk) for pk in pks for sk in "ABCE"])
    for pk in pks:
        for table, table_times in zip(tables, times):
            items = transaction(table, pk, cancel=False)
            table_times.append(timed(lambda: ddb.transact_write_items(TransactItems=items)))
    bumped = {**seed(pks[-1], "A"), "n": N(1), "tags": {"SS": ["a", "b", "c"]},
              "m": {"M": {"x": {"L": [S("new"), N(1)]}}}}
    expected = {"NEW": {"pk": S(pks[-1]), "sk": S("NEW"), "n": N(0)}, "A": bumped, "B": None,
                "C": seed(pks[-1], "C"), "E": {**bumped, "sk": S("E")}}
    for table in tables:
        got = {sk: get(ddb, table, pks[-1], sk) for sk in expected}
        if got != expected:
            fail(f"a transaction on {table} did not write what it should:\n  got      {got}\n  expected {expected}")
    return times


def run_cancelled(ddb, table: str, run: str, count: int) -> list[float]:
    pks = [f"TXCHECK#{run}#cancel#{i}" for i in range(count)]
    put_all(ddb, table, [seed(pk, sk) for pk in pks for sk in "ABCE"])
    times = []
    for pk in pks:
        before = {sk: get(ddb, table, pk, sk) for sk in ("NEW", "A", "B", "C", "E")}
        start = time.perf_counter()
        try:
            ddb.transact_write_items(TransactItems=transaction(table, pk, cancel=True))
            fail("a transaction whose fifth condition fails was not cancelled")
        except ClientError as error:
            times.append((time.perf_counter() - start) * 1000)
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                fail(f"a transaction whose fifth condition fails: {error}")
            reasons = error.response.get("CancellationReasons")
        expected = [{"Code": "None"}] * 4 + [{"Code": "ConditionalCheckFailed", "Item": before["E"]}]
        got = [{k: v for k, v in r.items() if k != "Message"} for r in reasons or []]
        if got != expected:
            fail(f"cancellation reasons:\n  got      {got}\n  expected {expected}")
        after = {sk: get(ddb, table, pk, sk) for sk in before}
        for sk in before:
            if after[sk] != before[sk]:
                fail(f"a cancelled transaction changed {pk}/{sk}:\n  before {before[sk]}\n  after  {after[sk]}")
    return times


def run_queries(ddb, tables: list[str], count: int) -> list[list[float]]:
    """Times the audit log's Query (one partition, newest first) on a filled
    user's partition of each table, taking turns; the results must agree."""
    pk = "USER#fill-000001"
    partition = ddb.query(TableName=tables[-1], KeyConditionExpression="pk = :pk",
                          ExpressionAttributeValues={":pk": S(pk)}, ConsistentRead=True)["Items"]
    put_all(ddb, tables[0], partition)
    query = dict(KeyConditionExpression="pk = :pk AND begins_with(sk, :evt)", ScanIndexForward=False, Limit=50,
                 ExpressionAttributeValues={":pk": S(pk), ":evt": S("EVT#")})
    results = [ddb.query(TableName=table, **query)["Items"] for table in tables]
    if results[0] != results[1] or len(results[0]) != 9:
        fail(f"the same Query on both tables found different items:\n  {results[0]}\n  {results[1]}")
    times: list[list[float]] = [[] for _ in tables]
    for _ in range(count):
        for table, table_times in zip(tables, times):
            table_times.append(timed(lambda: ddb.query(TableName=table, **query)))
    return times


def mail_record_size(endpoint: str) -> int:
    """The size of moto's `/moto-api/data.json`, which `make mail` and the
    tests read: it must not carry every DynamoDB item ever written."""
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as response:
        data = json.load(response)
    if data.get("dynamodb", {}).get("Item"):
        fail("moto's data.json holds DynamoDB items: is scripts/moto_server.py's track_only_mail in place?")
    return len(json.dumps(data))


def summary(label: str, times: list[float]) -> str:
    median, p99 = statistics.median(times), statistics.quantiles(times, n=100)[-1]
    return f"{label:<46} median {median:7.1f} ms, p99 {p99:7.1f} ms ({len(times)} transactions)"


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("endpoint")
    args.add_argument("table")
    args.add_argument("--users", type=int, default=5000, help="synthetic users to fill TABLE with, 10 items each")
    args.add_argument("--transactions", type=int, default=200, help="timed transactions per table")
    args = args.parse_args()
    config = Config(retries={"total_max_attempts": 1}, read_timeout=600)
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name="us-east-1", config=config)
    run = uuid.uuid4().hex[:8]
    scratch = f"{args.table}-txcheck-{run}"
    started = time.perf_counter()
    ddb.create_table(
        TableName=scratch,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    try:
        fill_time = timed(lambda: fill(ddb, args.table, args.users)) / 1000
        items = f"{args.users * 10:,}-item table"
        print(f"fill: {args.users * 10:,} items into {args.table} with BatchWriteItem in {fill_time:.1f} s")
        empty, big = run_successful(ddb, [scratch, args.table], run, args.transactions)
        cancelled = run_cancelled(ddb, args.table, run, max(2, args.transactions // 4))
        query_empty, query_big = run_queries(ddb, [scratch, args.table], args.transactions)
        ratio = statistics.median(big) / statistics.median(empty)
        query_ratio = statistics.median(query_big) / statistics.median(query_empty)
        print(summary("5-item transaction, scratch table:", empty))
        print(summary(f"5-item transaction, {items}:", big))
        print(summary(f"cancelled, {items} (restore checked):", cancelled))
        print(f"ratio of the medians, {items} / scratch table: {ratio:.2f} (at most 2)")
        print(summary("audit-log Query, scratch table:", query_empty).replace("transactions", "queries"))
        print(summary(f"audit-log Query, {items}:", query_big).replace("transactions", "queries"))
        print(f"ratio of the Query medians: {query_ratio:.2f} (at most 2)")
        print(f"moto's data.json: {mail_record_size(args.endpoint):,} bytes")
        if ratio > 2:
            fail(f"a transaction on the {items} takes {ratio:.1f}x as long as on a scratch table: "
                 "is scripts/moto_server.py's patch of transact_write_items in place?")
        if query_ratio > 2:
            fail(f"a Query on the {items} takes {query_ratio:.1f}x as long as on a scratch table: "
                 "is scripts/moto_server.py's patch of Table.query in place?")
    finally:
        ddb.delete_table(TableName=scratch)
        batch_write(ddb, args.table, [{"DeleteRequest": {"Key": {"pk": S(f"TXCHECK#{run}#{kind}#{i}"), "sk": S(sk)}}}
                                      for kind in ("ok", "cancel") for i in range(args.transactions)
                                      for sk in ("NEW", "A", "B", "C", "E")])
    print(f"check_moto_transactions: OK in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except (BotoCoreError, ClientError) as error:
        fail(str(error))
