"""Least privilege, measured: each function's IAM grants in the SAM template
against the AWS calls its handler tests made.

The handler tests write, per function crate (the folder names under
functions/), one JSON object per AWS call to .local/aws-calls/<crate>.jsonl:

    {"call": "DynamoDB.UpdateItem", "partitions": ["EMAIL#"]}
    {"call": "DynamoDB.TransactWriteItems", "partitions": ["EMAIL#", "USER#"],
     "actions": ["dynamodb:PutItem", "dynamodb:UpdateItem"],
     "parts": [{"action": "dynamodb:UpdateItem", "partition": "EMAIL#"},
               {"action": "dynamodb:PutItem", "partition": "USER#"}]}
    {"call": "KMS.Decrypt", "context": {"purpose": "twofa-keyring", "kid": "k1"}}
    {"call": "SESv2.SendEmail"}

A partition is the partition key up to and including its first "#" (the
whole key when it has none: KEYRING, MAILBUDGET). IAM authorizes each part of
a transaction on its own (its action on its item's key), so "parts" pairs
them and each pair is checked; a record without "parts" has every action of
"actions" checked on every one of its partitions.

For every function of the template, both directions:
  - each recorded call is allowed by the function's statements (the action,
    and the conditions on dynamodb:LeadingKeys and the KMS encryption
    context); an explicit Deny wins;
  - each DynamoDB, KMS and SES action an Allow statement grants, and each
    value its conditions allow (dynamodb:LeadingKeys, kms:EncryptionContext),
    is used by a recorded call that the statement allows;
  - writes to the KEYRING partition are explicitly denied, so are writes to
    MAILBUDGET unless the function records one, and no function may make a
    KMS data key.
ses:FromAddress conditions must name the same parameter as the function's
MAIL_FROM (the calls do not record a sender: the code always uses MAIL_FROM).

Prints a table per function; exits 1 with one line per violation. A function
whose crate has no record file is a violation (a test is missing).

Usage: python scripts/check_iam.py [TEMPLATE] [CALLS_DIR] [FUNCTIONS_DIR]
(defaults: infra/template.yaml .local/aws-calls functions)
"""

from __future__ import annotations

import fnmatch
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cfnlint.decode import decode

SERVICES = {"DynamoDB": "dynamodb", "KMS": "kms", "SES": "ses", "SESv2": "ses"}
CHECKED = ("dynamodb:", "kms:", "ses:")
# Each Allow of these services must narrow itself by this condition key.
SCOPES = [
    ("dynamodb:", "dynamodb:LeadingKeys", "on every partition: scope it with dynamodb:LeadingKeys"),
    ("kms:", "kms:EncryptionContext", "with any encryption context: condition it on kms:EncryptionContext:purpose"),
    ("ses:", "ses:FromAddress", "from any sender: condition it on ses:FromAddress"),
]
WRITES = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"]
# Policies SAM itself attaches: logs and traces, nothing of the services checked here.
HARMLESS_MANAGED = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaVPCAccessExecutionRole"}


class Unsupported(Exception):
    """A policy construct this check cannot evaluate; reported as a violation."""


@dataclass
class Statement:
    origin: str
    effect: str
    actions: list[str]
    resources: list
    conditions: list[tuple[str, str, list]]  # (operator, key, values)


@dataclass
class Request:
    """One IAM authorization as AWS would make it for (part of) a call."""

    action: str
    context: dict[str, list[str]]
    call: str


@dataclass
class Function:
    logical_id: str
    crate: str
    mail_from: object
    statements: list[Statement] = field(default_factory=list)


# ---- the template ---------------------------------------------------------


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def is_intrinsic(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))


def crates_by_binary(functions_dir: Path) -> dict[str, str]:
    """Binary name (what Metadata.BuildProperties.Binary names) -> crate folder."""
    found = {}
    for manifest in sorted(functions_dir.glob("*/Cargo.toml")):
        crate = manifest.parent.name
        cargo = tomllib.loads(manifest.read_text())
        found.setdefault(cargo.get("package", {}).get("name", crate), crate)
        for binary in cargo.get("bin", []):
            found.setdefault(binary.get("name", crate), crate)
        found.setdefault(crate, crate)
    return found


def crate_of(logical_id: str, resource: dict, crates: dict[str, str]) -> str:
    binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
    if isinstance(binary, str) and binary in crates:
        return crates[binary]
    code_uri = resource.get("Properties", {}).get("CodeUri")
    if isinstance(code_uri, str):
        name = Path(code_uri.rstrip("/")).name
        if name in crates:
            return crates[name]
    raise Unsupported(f"{logical_id}: no crate under functions/ for it (Metadata.BuildProperties.Binary: {binary!r})")


def statements_of(document: dict, origin: str) -> list[Statement]:
    if is_intrinsic(document):
        raise Unsupported(f"{origin}: a policy document built by {next(iter(document))} is not evaluated")
    found = []
    for i, raw in enumerate(as_list(document.get("Statement", []))):
        where = f"{origin}, statement {i + 1}"
        if is_intrinsic(raw):
            raise Unsupported(f"{where}: a statement built by {next(iter(raw))} is not evaluated")
        if "NotAction" in raw or "NotResource" in raw:
            raise Unsupported(f"{where}: NotAction / NotResource are not evaluated")
        actions = as_list(raw.get("Action", []))
        if any(not isinstance(a, str) for a in actions):
            raise Unsupported(f"{where}: an Action that is not a plain string")
        conditions = []
        for operator, keys in (raw.get("Condition") or {}).items():
            if is_intrinsic(keys) or not isinstance(keys, dict):
                raise Unsupported(f"{where}: condition {operator} is not a plain mapping")
            for key, values in keys.items():
                conditions.append((operator, key, as_list(values)))
        found.append(Statement(where, raw.get("Effect", ""), actions, as_list(raw.get("Resource", [])), conditions))
    return found


def load_functions(template_path: str, functions_dir: Path) -> tuple[list[Function], list[str]]:
    template, matches = decode(template_path)
    if matches or template is None:
        sys.exit(f"{template_path}: cannot be read: " + "; ".join(str(m) for m in matches))
    resources = template.get("Resources", {})
    crates = crates_by_binary(functions_dir)
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    functions, problems = [], []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties", {})
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        try:
            if "Role" in props:
                raise Unsupported(f"{logical_id}: an explicit Role is not evaluated (use Policies)")
            function = Function(logical_id, crate_of(logical_id, resource, crates), env.get("MAIL_FROM"))
            policies = as_list(props.get("Policies", []))
            policies += as_list(template.get("Globals", {}).get("Function", {}).get("Policies", []))
            for n, policy in enumerate(policies):
                origin = f"{logical_id} Policies[{n}]"
                if isinstance(policy, str):
                    if policy.rsplit("/", 1)[-1] in HARMLESS_MANAGED:
                        continue
                    raise Unsupported(f"{origin}: the managed policy {policy} is not evaluated")
                if isinstance(policy, dict) and set(policy) == {"Ref"}:
                    target = resources.get(policy["Ref"], {})
                    if target.get("Type") != "AWS::IAM::ManagedPolicy":
                        raise Unsupported(f"{origin}: !Ref {policy['Ref']} is not a managed policy of the template")
                    doc = target.get("Properties", {}).get("PolicyDocument", {})
                    function.statements += statements_of(doc, policy["Ref"])
                elif isinstance(policy, dict) and "Statement" in policy:
                    function.statements += statements_of(policy, origin)
                else:
                    raise Unsupported(f"{origin}: not a policy document or a managed policy (SAM policy templates are not evaluated)")
            # Policies attached to the role SAM makes (<LogicalId>Role) from elsewhere in the template.
            for other_id, other in resources.items():
                if other.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                    roles = as_list(other.get("Properties", {}).get("Roles", []))
                    if {"Ref": f"{logical_id}Role"} in roles:
                        function.statements += statements_of(other["Properties"].get("PolicyDocument", {}), other_id)
            functions.append(function)
        except Unsupported as unsupported:
            problems.append(str(unsupported))
    return functions, problems


# ---- the calls ------------------------------------------------------------


def representative(partition: str) -> str:
    """A key of that partition: "USER#" stands for USER#<anything>."""
    return partition + "x" if partition.endswith("#") else partition


def requests_of(record: dict, where: str) -> list[Request]:
    call = record.get("call")
    if not isinstance(call, str) or "." not in call:
        raise Unsupported(f"{where}: no \"call\" of the form Service.Operation")
    service, operation = call.split(".", 1)
    prefix = SERVICES.get(service)
    if prefix is None:
        raise Unsupported(f"{where}: {call}: unknown service {service} (known: {', '.join(SERVICES)})")
    if prefix == "dynamodb":
        partitions = record.get("partitions")
        if not isinstance(partitions, list) or not partitions or not all(isinstance(p, str) for p in partitions):
            raise Unsupported(f"{where}: {call} names no partitions")
        if record.get("parts"):
            pairs = [(part.get("action"), part.get("partition")) for part in record["parts"]]
            if not all(isinstance(a, str) and isinstance(p, str) for a, p in pairs):
                raise Unsupported(f"{where}: {call}: every part needs an action and a partition")
        else:
            if "actions" in record:
                actions = record["actions"]
            elif operation == "TransactWriteItems":
                raise Unsupported(f"{where}: {call} needs \"actions\" (the IAM actions of its parts)")
            elif operation == "TransactGetItems":
                actions = ["dynamodb:GetItem"]
            else:
                actions = [f"dynamodb:{operation}"]
            pairs = [(action, partition) for action in actions for partition in partitions]
        return [Request(a, {"dynamodb:LeadingKeys": [representative(p)]}, call) for a, p in pairs]
    if prefix == "kms":
        context = record.get("context") or {}
        keyed = {f"kms:EncryptionContext:{k}": [str(v)] for k, v in context.items()}
        if context:
            keyed["kms:EncryptionContextKeys"] = sorted(context)
        return [Request(record.get("action") or f"kms:{operation}", keyed, call)]
    return [Request(record.get("action") or f"ses:{operation}", {}, call)]


def load_calls(path: Path) -> tuple[list[dict], list[str]]:
    records, problems, seen = [], [], set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"{path}:{number}: not JSON ({err})")
            continue
        canonical = json.dumps(record, sort_keys=True)
        if canonical not in seen:
            seen.add(canonical)
            records.append(record)
    return records, problems


# ---- evaluation -----------------------------------------------------------


def action_matches(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def value_matches(operator: str, condition_value: str, value: str) -> bool:
    if "Like" in operator:
        # IAM wildcards: * and ?, nothing else special.
        escaped = condition_value.replace("[", "[[]")
        return fnmatch.fnmatchcase(value, escaped)
    return value == condition_value


def condition_holds(function: Function, operator: str, key: str, values: list, context: dict) -> bool:
    if key == "ses:FromAddress":
        # The calls record no sender: the code sends from MAIL_FROM, so the
        # condition holds when it names exactly what MAIL_FROM is set from.
        return function.mail_from is not None and function.mail_from in values
    if any(not isinstance(v, str) for v in values):
        raise Unsupported(f"a value of {operator} {key} is computed ({values}); only {{ses:FromAddress: !Ref ...}} is understood")
    qualifier, _, base = operator.rpartition(":")
    if base.endswith("IfExists"):
        raise Unsupported(f"{operator} is not evaluated")
    if base not in ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike"):
        raise Unsupported(f"the operator {operator} is not evaluated")
    negated = "Not" in base
    present = context.get(key)
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise Unsupported(f"the operator {operator} is not evaluated")
    if present is None:
        return qualifier == "ForAllValues" or (qualifier == "" and negated)

    def one(value: str) -> bool:
        hit = any(value_matches(base, c, value) for c in values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(v) for v in present)
    return any(one(v) for v in present)


def statement_applies(function: Function, statement: Statement, request: Request) -> bool:
    if not any(action_matches(pattern, request.action) for pattern in statement.actions):
        return False
    return all(condition_holds(function, op, key, values, request.context) for op, key, values in statement.conditions)


def decide(function: Function, request: Request) -> tuple[str, list[Statement]]:
    """("denied" | "allowed" | "not allowed", the statements that decided)."""
    denies = [s for s in function.statements if s.effect == "Deny" and statement_applies(function, s, request)]
    if denies:
        return "denied", denies
    allows = [s for s in function.statements if s.effect == "Allow" and statement_applies(function, s, request)]
    return ("allowed", allows) if allows else ("not allowed", [])


def describe(request: Request) -> str:
    keys = request.context.get("dynamodb:LeadingKeys")
    if keys:
        return f"{request.action} on {', '.join(k[:-1] if k.endswith('#x') else k for k in keys)}"
    context = {k.split(":")[-1]: v[0] for k, v in request.context.items() if k.startswith("kms:EncryptionContext:")}
    return f"{request.action}" + (f" with {context}" if context else "")


def check(function: Function, records: list[dict], where: str) -> tuple[list[str], list[str]]:
    """The table rows and the violations of one function."""
    rows: dict[tuple[str, str], str] = {}
    violations: list[str] = []
    allowed_requests: list[tuple[Request, list[Statement]]] = []
    for record in records:
        try:
            requests = requests_of(record, where)
        except Unsupported as unsupported:
            violations.append(str(unsupported))
            continue
        verdicts = []
        for request in requests:
            verdict, by = decide(function, request)
            if verdict == "allowed":
                allowed_requests.append((request, by))
            else:
                violations.append(f"{function.crate}: {describe(request)} ({request.call}) is {verdict}"
                                  + (f" by {by[0].origin}" if by else ""))
            verdicts.append(verdict)
        touched = ",".join(record.get("partitions", [])) or ",".join(
            f"{k}={v}" for k, v in sorted((record.get("context") or {}).items())
        )
        row = (record["call"], touched)
        if rows.get(row) != "REFUSED":
            rows[row] = "ok" if all(v == "allowed" for v in verdicts) else "REFUSED"

    for statement in function.statements:
        if statement.effect != "Allow":
            continue
        relevant = [a for a in statement.actions if a.lower().startswith(CHECKED) or a == "*"]
        used_actions = []
        for action in relevant:
            if "*" in action or "?" in action:
                violations.append(f"{function.crate}: {statement.origin} grants {action}: name the actions the calls use")
            elif not any(r.action.lower() == action.lower() and statement in by for r, by in allowed_requests):
                violations.append(f"{function.crate}: {statement.origin} allows {action}, which no recorded call uses")
            else:
                used_actions.append(action)
        if relevant and any(r == "*" for r in statement.resources):
            violations.append(f"{function.crate}: {statement.origin} allows {', '.join(relevant)} on Resource *")
        # What an Allow does not narrow, it grants everywhere.
        keys = {key for _, key, _ in statement.conditions}
        for service, scope, what in SCOPES:
            granted = [a for a in relevant if a.lower().startswith(service)]
            if granted and not any(key == scope or key.startswith(scope + ":") for key in keys):
                violations.append(f"{function.crate}: {statement.origin} allows {', '.join(granted)} {what}")
        for operator, key, values in statement.conditions:
            if key != "dynamodb:LeadingKeys" and not key.startswith("kms:EncryptionContext:"):
                continue
            base = operator.rpartition(":")[2]
            if "Not" in base:
                continue
            # Each action with each value: a statement granting PutItem and
            # UpdateItem on EMAIL# and USER# needs all four pairs used.
            for action in used_actions:
                for value in values:
                    used = any(
                        statement in by
                        and r.action.lower() == action.lower()
                        and any(value_matches(base, value, v) for v in r.context.get(key, []))
                        for r, by in allowed_requests
                    )
                    if not used:
                        violations.append(
                            f"{function.crate}: {statement.origin} allows {action} with {key} {value}, "
                            "which no recorded call uses"
                        )

    # Guard rails: what must be refused explicitly, whatever else is granted.
    writes_mail_budget = any(
        r.action in WRITES and "MAILBUDGET" in r.context.get("dynamodb:LeadingKeys", []) for r, _ in allowed_requests
    )
    guarded = ["KEYRING"] + ([] if writes_mail_budget else ["MAILBUDGET"])
    for partition in guarded:
        open_writes = [
            action.split(":")[1]
            for action in WRITES
            if decide(function, Request(action, {"dynamodb:LeadingKeys": [partition]}, "guard"))[0] != "denied"
        ]
        if open_writes:
            violations.append(f"{function.crate}: {', '.join(open_writes)} on {partition} not explicitly denied")
    for action in ("kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext"):
        probe = Request(action, {"kms:EncryptionContext:purpose": ["twofa-keyring"], "kms:EncryptionContextKeys": ["kid", "purpose"]}, "guard")
        verdict, by = decide(function, probe)
        if verdict == "allowed":
            violations.append(f"{function.crate}: {action} is allowed by {by[0].origin}; keys come from authctl init")
    table = [f"    {call:<30} {touched:<40} {verdict}" for (call, touched), verdict in rows.items()]
    return table, violations


def main() -> None:
    args = sys.argv[1:] + [None] * 3
    template = args[0] or "infra/template.yaml"
    calls_dir = Path(args[1] or ".local/aws-calls")
    functions_dir = Path(args[2] or "functions")
    functions, violations = load_functions(template, functions_dir)
    crates = set()
    for function in sorted(functions, key=lambda f: f.crate):
        crates.add(function.crate)
        path = calls_dir / f"{function.crate}.jsonl"
        print(f"{function.crate} ({function.logical_id})")
        if not path.is_file():
            print(f"    no record: {path}")
            violations.append(f"{function.crate}: no recorded calls ({path}): its handler tests record none")
            continue
        records, problems = load_calls(path)
        violations += problems
        try:
            rows, found = check(function, records, str(path))
        except Unsupported as unsupported:
            rows, found = [], [f"{function.crate}: {unsupported}"]
        print("\n".join(rows) if rows else "    (no AWS calls)")
        for line in found:
            print(f"    ! {line.split(': ', 1)[1]}")
        violations += found
    for stray in sorted(calls_dir.glob("*.jsonl")) if calls_dir.is_dir() else []:
        if stray.stem not in crates:
            print(f"note: {stray} belongs to no function of {template}")
    if violations:
        print(f"\n{template}: {len(violations)} IAM violation(s):", file=sys.stderr)
        for line in violations:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(f"\n{template}: every function's grants match its recorded calls ({len(functions)} functions)")


if __name__ == "__main__":
    main()
