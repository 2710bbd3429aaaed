"""What a month of users costs: measured (or estimated) durations, memory sizes
and AWS calls per route, turned into the monthly bill of a stated workload and
printed beside Amazon Cognito's published price for the same users.

Usage: python3 scripts/cost.py [--inputs bench/cost-inputs.json] [--bench .local/bench]
                               [--mau 100000] [--signins 4] [--twofa 0.5] ... (--help)

Inputs (`bench/cost-inputs.json`, format 1):
  item_kb      item name -> size in KB as DynamoDB counts it
  cold_start   {"extra_billed_ms", "dynamodb", "log_bytes"}: what a cold start adds
  routes       name -> {
                 "function", "bench_route" (the label lambda-bench prints),
                 "memory_mb", "duration_ms" (billed median, warm), "estimate" (true until measured),
                 "dynamodb": {"read_units": r, "write_units": w}            (units per request)
                          or {"ops": [{"op": KIND, "items": [NAME or KB, ...]}, ...]}
                    KIND: get, batch_get (1 RRU per 4 KB per item), query (1 RRU per 4 KB of all
                    items together), put, update, delete, batch_write (1 WRU per KB per item),
                    transact_write (2 WRU per KB per item, ConditionCheck included),
                    transact_get (2 RRU per 4 KB per item); "consistent": false halves a read,
                 "kms_calls", "cold_kms_calls" (Decrypt at a cold start), "ses_mails"}
  The workload uses the routes login_2fa_off, login_2fa_on, verify_login, refresh, me,
  twofa_status, register, email_verify, password_forgot and password_reset.

JSONL (`--bench DIR`: every DIR/*.jsonl, e.g. what `make bench` leaves in .local/bench), lines
matched to a route by "route" (its name here or its bench_route) or by "function":
  {"bench": "duration", "function": F | "route": R, "memory_mb": M, "billed_median_ms": D}
      ("median_ms" is read when "billed_median_ms" is absent): the warm duration at that size
  {"bench": "cost_route", "route": R, ...any route field above...}: replaces those fields
  {"bench": "aws_calls", "route": R, "calls": N, "which": [...]}: checked against the number
      of DynamoDB operations listed here; a difference is printed, nothing is changed
  {"bench": "cold_start", "median_ms": ...}: printed with the assumptions
Figures a line replaced are printed as measured, the others as estimates.
"""

import argparse
import glob
import json
import math
import os
import sys

PRICES_AS_OF = "2026-12"

# us-east-1, as published. "confirmed": checked against a stored copy of the price page (or a
# transcription of it) when this was written; otherwise as remembered, to check.
PRICES = {
    "lambda_gb_s": (0.0000166667, "Lambda x86_64 duration, $0.0000166667 per GB-second (first 6 billion GB-s a month)", "aws.amazon.com/lambda/pricing", True),
    "lambda_request": (0.20 / 1e6, "Lambda requests, $0.20 per million", "aws.amazon.com/lambda/pricing", True),
    "apigw_http_request": (1.00 / 1e6, "API Gateway HTTP API, $1.00 per million requests (first 300 million; 512 KB each)", "aws.amazon.com/api-gateway/pricing", True),
    "ddb_wru": (0.625 / 1e6, "DynamoDB on-demand, $0.625 per million write request units (since the November 2024 cut)", "aws.amazon.com/dynamodb/pricing/on-demand", True),
    "ddb_rru": (0.125 / 1e6, "DynamoDB on-demand, $0.125 per million read request units", "aws.amazon.com/dynamodb/pricing/on-demand", True),
    "ddb_storage_gb": (0.25, "DynamoDB Standard storage, $0.25 per GB-month (first 25 GB free)", "aws.amazon.com/dynamodb/pricing", True),
    "ddb_pitr_gb": (0.20, "DynamoDB point-in-time recovery, $0.20 per GB-month", "aws.amazon.com/dynamodb/pricing", False),
    "kms_key_month": (1.00, "KMS, $1 per customer managed key a month (+$1 for each of the first two rotations)", "aws.amazon.com/kms/pricing", True),
    "kms_request": (0.03 / 1e4, "KMS, $0.03 per 10,000 requests (20,000 free a month)", "aws.amazon.com/kms/pricing", True),
    "ses_mail": (0.10 / 1e3, "SES outbound, $0.10 per 1,000 mails", "aws.amazon.com/ses/pricing", True),
    "logs_gb": (0.50, "CloudWatch Logs standard ingestion, $0.50 per GB (first tier; 5 GB free)", "aws.amazon.com/cloudwatch/pricing", True),
    "xray_trace": (5.00 / 1e6, "X-Ray, $5.00 per million traces recorded (100,000 free)", "aws.amazon.com/xray/pricing", True),
}

# Amazon Cognito user pools, $ per MAU a month. Lite: bands above a 10,000-MAU free tier.
COGNITO = {
    "Lite": {
        "free": 10_000,
        "bands": [(100_000, 0.0055), (1_000_000, 0.0046), (10_000_000, 0.00325), (None, 0.0025)],
        "note": "no passkeys or passwordless sign-in; TOTP MFA included",
        "confirmed": "$0.0055 and $0.0046 confirmed; the band edges as remembered, to check",
    },
    "Essentials": {
        "free": 10_000,
        "bands": [(None, 0.015)],
        "note": "the default plan; passkeys and passwordless; TOTP MFA included (like for like with this service)",
        "confirmed": "confirmed",
    },
    "Plus": {
        "free": 0,
        "bands": [(None, 0.020)],
        "note": "Essentials + threat protection (the former advanced security); no free tier",
        "confirmed": "confirmed",
    },
}

# Always-free allowances a month (they do not expire after 12 months).
FREE = {"lambda_requests": 1_000_000, "lambda_gb_s": 400_000, "kms_requests": 20_000,
        "logs_gb": 5.0, "xray_traces": 100_000, "ddb_storage_gb": 25.0}

WORKLOAD_ROUTES = ["login_2fa_off", "login_2fa_on", "verify_login", "refresh", "me", "twofa_status",
                   "register", "email_verify", "password_forgot", "password_reset"]

SECONDS_A_MONTH = 30 * 24 * 3600


# --- DynamoDB request units ---------------------------------------------------------------

def _kb(item, item_kb):
    if isinstance(item, (int, float)):
        return float(item)
    if item not in item_kb:
        raise ValueError(f"unknown item {item!r}: add it to item_kb")
    return float(item_kb[item])


def op_units(op, item_kb):
    """(read units, write units) of one DynamoDB operation."""
    kind = op["op"]
    sizes = [_kb(i, item_kb) for i in op["items"]]
    read_factor = 1.0 if op.get("consistent", True) else 0.5
    if kind in ("get", "batch_get"):
        return sum(math.ceil(kb / 4) for kb in sizes) * read_factor, 0.0
    if kind == "query":
        return math.ceil(sum(sizes) / 4) * read_factor, 0.0
    if kind == "transact_get":
        return 2.0 * sum(math.ceil(kb / 4) for kb in sizes), 0.0
    if kind in ("put", "update", "delete", "batch_write"):
        return 0.0, float(sum(math.ceil(kb) for kb in sizes))
    if kind == "transact_write":
        return 0.0, 2.0 * sum(math.ceil(kb) for kb in sizes)
    raise ValueError(f"unknown DynamoDB operation {kind!r}")


def dynamodb_units(spec, item_kb):
    """(read units, write units, calls) of a route's DynamoDB figures."""
    if "ops" in spec:
        reads = writes = 0.0
        for op in spec["ops"]:
            r, w = op_units(op, item_kb)
            reads, writes = reads + r, writes + w
        return reads, writes, len(spec["ops"])
    return float(spec.get("read_units", 0)), float(spec.get("write_units", 0)), spec.get("calls")


# --- Inputs -------------------------------------------------------------------------------

def load_inputs(path):
    with open(path) as f:
        inputs = json.load(f)
    inputs.setdefault("item_kb", {})
    inputs.setdefault("cold_start", {})
    return inputs


def apply_bench(inputs, directory):
    """Folds `make bench` JSONL lines into the inputs; returns what it noticed, to print."""
    routes = inputs["routes"]
    by_label = {r.get("bench_route"): name for name, r in routes.items() if r.get("bench_route")}
    notes = []

    def targets(line):
        route = line.get("route")
        if route in routes:
            return [route]
        if route in by_label:
            return [by_label[route]]
        if route is None and line.get("function"):
            return [n for n, r in routes.items() if r.get("function") == line["function"]]
        return []

    paths = sorted(glob.glob(os.path.join(directory, "*.jsonl")))
    if not paths:
        notes.append(f"no *.jsonl in {directory}: the inputs file alone")
    for path in paths:
        with open(path) as f:
            lines = [json.loads(x) for x in f if x.strip().startswith("{")]
        for line in lines:
            kind = line.get("bench")
            if kind == "duration":
                ms = line.get("billed_median_ms", line.get("median_ms"))
                for name in targets(line):
                    routes[name]["duration_ms"] = ms
                    if "memory_mb" in line:
                        routes[name]["memory_mb"] = line["memory_mb"]
                    routes[name]["estimate"] = False
                    routes[name]["duration_source"] = f"measured ({os.path.basename(path)})"
            elif kind == "cost_route":
                for name in targets(line):
                    routes[name].update({k: v for k, v in line.items() if k not in ("bench", "route")})
                    routes[name].setdefault("estimate", False)
            elif kind == "aws_calls":
                for name in targets(line):
                    measured = sum(1 for c in line.get("which", []) if c.startswith("DynamoDB"))
                    listed = dynamodb_units(routes[name]["dynamodb"], inputs["item_kb"])[2]
                    if listed is not None and measured != listed:
                        notes.append(f"{name}: {measured} DynamoDB calls measured, {listed} listed in the inputs")
            elif kind == "cold_start":
                notes.append(f"cold start measured here: {line.get('median_ms')} ms to the first response "
                             f"(median of {line.get('runs')}, against moto)")
    return notes


# --- Workload -----------------------------------------------------------------------------

def route_requests(w):
    """Requests a month per route for the workload `w` (an argparse namespace or alike)."""
    signins = w.mau * w.signins
    return {
        "login_2fa_off": signins * (1 - w.twofa),
        "login_2fa_on": signins * w.twofa,
        "verify_login": signins * w.twofa,
        "refresh": w.mau * w.refreshes * w.active_days,
        "me": signins * w.me,
        "twofa_status": signins * w.status,
        "register": w.mau * w.signups,
        "email_verify": w.mau * w.signups,
        "password_forgot": w.mau * w.resets,
        "password_reset": w.mau * w.resets,
    }


def storage_gb(w, item_kb):
    """The table's size: every stored account's items, 100 bytes of overhead each."""
    overhead = 0.1
    events = w.signins * (1 + w.twofa) * 3  # login and verify events, kept 90 days
    sessions = min(w.signins, 4)  # a session lasts up to 30 days
    per_user = (item_kb.get("profile", 1.5) + overhead + item_kb.get("login", 0.5) + overhead
                + sessions * (item_kb.get("session", 0.5) + overhead)
                + events * (item_kb.get("audit", 0.3) + overhead))
    return w.stored_users * per_user / 1024 / 1024


# --- The bill -----------------------------------------------------------------------------

def price(key):
    return PRICES[key][0]


def compute_bill(inputs, counts, cold_fraction=0.0, log_bytes=0, xray=False, storage=0.0,
                 kms_key_months=1, free_tier=False):
    """The monthly bill of `counts` (route -> requests a month): rows per route and per service."""
    item_kb = inputs["item_kb"]
    cold = inputs.get("cold_start", {})
    cold_rru, cold_wru, _ = dynamodb_units(cold.get("dynamodb", {}), item_kb)
    rows = []
    t = dict(requests=0.0, gb_s=0.0, rru=0.0, wru=0.0, kms=0.0, mails=0.0, log_bytes=0.0, traces=0.0)
    for name, n in counts.items():
        if not n:
            continue
        r = inputs["routes"][name]
        rru, wru, calls = dynamodb_units(r["dynamodb"], item_kb)
        colds = n * cold_fraction
        gb = r["memory_mb"] / 1024
        gb_s = n * r["duration_ms"] / 1000 * gb + colds * cold.get("extra_billed_ms", 0) / 1000 * gb
        kms = n * r.get("kms_calls", 0) + colds * r.get("cold_kms_calls", 0)
        t["requests"] += n
        t["gb_s"] += gb_s
        t["rru"] += n * rru + colds * cold_rru
        t["wru"] += n * wru + colds * cold_wru
        t["kms"] += kms
        t["mails"] += n * r.get("ses_mails", 0)
        t["log_bytes"] += n * log_bytes + colds * cold.get("log_bytes", 0)
        rows.append(dict(route=name, requests=n, memory_mb=r["memory_mb"], duration_ms=r["duration_ms"],
                         estimate=r.get("estimate", True), rru=rru, wru=wru, calls=calls, gb_s=gb_s,
                         kms=kms, mails=n * r.get("ses_mails", 0), function=r.get("function", name)))
    if xray:
        # Lambda's default rule: the first request a second of each function, 5 % of the rest
        # (traffic spread evenly over the month: an upper estimate).
        per_function = {}
        for row in rows:
            per_function[row["function"]] = per_function.get(row["function"], 0) + row["requests"]
        t["traces"] = sum(min(n, SECONDS_A_MONTH) + 0.05 * max(0, n - SECONDS_A_MONTH) for n in per_function.values())

    def free(quantity, allowance):
        return max(0.0, quantity - allowance) if free_tier else quantity

    log_gb = t["log_bytes"] / 1e9
    services = [
        ("Lambda", f"{t['requests']:,.0f} requests", free(t["requests"], FREE["lambda_requests"]) * price("lambda_request")),
        ("", f"{t['gb_s']:,.0f} GB-s", free(t["gb_s"], FREE["lambda_gb_s"]) * price("lambda_gb_s")),
        ("API Gateway", f"{t['requests']:,.0f} HTTP API requests", t["requests"] * price("apigw_http_request")),
        ("DynamoDB", f"{t['wru']:,.0f} write request units", t["wru"] * price("ddb_wru")),
        ("", f"{t['rru']:,.0f} read request units", t["rru"] * price("ddb_rru")),
        ("", f"{storage:,.2f} GB stored", free(storage, FREE["ddb_storage_gb"]) * price("ddb_storage_gb")),
        ("", f"{storage:,.2f} GB point-in-time recovery", storage * price("ddb_pitr_gb")),
        ("KMS", f"{kms_key_months:g} key-month", kms_key_months * price("kms_key_month")),
        ("", f"{t['kms']:,.0f} Decrypt requests", free(t["kms"], FREE["kms_requests"]) * price("kms_request")),
        ("SES", f"{t['mails']:,.0f} mails", t["mails"] * price("ses_mail")),
        ("CloudWatch Logs", f"{log_gb:,.2f} GB ingested", free(log_gb, FREE["logs_gb"]) * price("logs_gb")),
    ]
    if xray:
        services.append(("X-Ray", f"{t['traces']:,.0f} traces recorded", free(t["traces"], FREE["xray_traces"]) * price("xray_trace")))
    total = sum(s[2] for s in services)
    return dict(rows=rows, services=services, total=total, totals=t)


def cognito_monthly(mau, plan):
    p = COGNITO[plan]
    left, low, cost = max(0, mau - p["free"]), p["free"], 0.0
    for upper, rate in p["bands"]:
        width = left if upper is None else max(0, min(left, upper - low))
        cost += width * rate
        left -= width
        low = upper if upper is not None else low
        if left <= 0:
            break
    return cost


# --- Output -------------------------------------------------------------------------------

def money(x):
    return f"${x:,.2f}"


def per_mau(x, mau):
    return f"${x / mau:,.4f}" if mau else "-"


def report(inputs, w, bill, notes, inputs_path):
    out = []
    p = out.append
    estimates = sorted(r["route"] for r in bill["rows"] if r["estimate"])
    p(f"What it costs: {w.mau:,} monthly active users, one month (30 days), us-east-1")
    p(f"Prices as of {PRICES_AS_OF}, from the AWS price pages (listed at the end).")
    p("")
    p("Assumptions")
    p(f"  sign-ins: {w.signins:g} a user a month; {w.twofa:.0%} of users with 2FA (their sign-in is login + verify-login)")
    p(f"  refreshes: {w.refreshes:g} a user a day on {w.active_days:g} active days a month (access tokens last 15 minutes)")
    p(f"  per sign-in: {w.me:g} me and {w.status:g} 2fa/status")
    p(f"  new accounts: {w.signups:.0%} of MAU (register + email/verify, 1 mail); "
      f"password resets: {w.resets:.0%} (forgot + reset, 2 mails)")
    cold = inputs.get("cold_start", {})
    p(f"  cold starts: {w.cold:.1%} of invocations, each +{cold.get('extra_billed_ms', 0)} ms billed, "
      f"the keyring Query and 1-2 KMS Decrypt ({'estimate' if cold.get('estimate', True) else 'measured'}; "
      "a custom runtime's init is billed)")
    sizes = ", ".join(f"{k} {v:g} KB" for k, v in inputs["item_kb"].items() if not k.startswith("_"))
    p(f"  DynamoDB items: {sizes}")
    p("    every read strongly consistent (1 RRU per 4 KB an item); a write 1 WRU per KB; a transaction")
    p("    2 WRU per KB an item, a ConditionCheck counted like a write (as remembered, to check)")
    p(f"  logs: {w.log_bytes} bytes a request (the API's access-log line; functions log nothing on success), "
      f"+{cold.get('log_bytes', 0)} a cold start")
    p(f"  X-Ray: {'active tracing (the template): 1 trace a second per function + 5 % of the rest, traffic spread evenly (an upper estimate)' if w.xray else 'off'}")
    p(f"  storage: {w.stored_users:,} stored accounts (profile, login item, sessions, 90 days of events)")
    p(f"  free tiers: {'the always-free allowances subtracted' if w.free_tier else 'none counted (list prices)'}")
    if len(estimates) == len(bill["rows"]):
        which = "every duration an estimate (e below)"
    else:
        which = f"durations estimated: {', '.join(estimates)}" if estimates else "every duration measured"
    p(f"  inputs: {inputs_path}; {which}")
    p("  not counted: the authorizer and key-set calls of your own APIs, CloudFront and WAF of the optional web")
    p("  front end, data transfer out, failed requests (a failure adds at most one write)")
    for note in notes:
        p(f"  bench: {note}")
    p("")
    p("Per route (a month; e = estimated duration)")
    header = f"  {'route':<16} {'requests':>12} {'MB':>5} {'ms':>7} {'RRU':>4} {'WRU':>4} {'GB-s':>10} {'KMS':>7} {'mails':>7}"
    p(header)
    for r in bill["rows"]:
        ms = f"{r['duration_ms']:g}{' e' if r['estimate'] else '  '}"
        p(f"  {r['route']:<16} {r['requests']:>12,.0f} {r['memory_mb']:>5} {ms:>7} {r['rru']:>4g} {r['wru']:>4g} "
          f"{r['gb_s']:>10,.0f} {r['kms']:>7,.0f} {r['mails']:>7,.0f}")
    p("")
    p("Per service (a month)")
    for service, quantity, dollars in bill["services"]:
        p(f"  {service:<16} {quantity:<38} {money(dollars):>10}")
    p(f"  {'total':<16} {'':<38} {money(bill['total']):>10}")
    p(f"  {'per MAU':<16} {'':<38} {per_mau(bill['total'], w.mau):>10}")
    p("")
    p(f"Amazon Cognito user pools, the same {w.mau:,} MAUs (the MAU charge alone: mail, SMS and your API extra)")
    for plan, spec in COGNITO.items():
        cost = cognito_monthly(w.mau, plan)
        p(f"  {plan:<11} {money(cost):>10}  {per_mau(cost, w.mau):>8}/MAU  {spec['note']}")
        if spec["confirmed"] != "confirmed":
            p(f"  {'':<11} {'':>10}  {'':>8}      prices: {spec['confirmed']}")
    p("  MFA by TOTP is included in every plan; MFA by SMS adds Amazon SNS's per-message price; threat")
    p("  protection (advanced security) is the Plus plan's")
    p("")
    p(f"Prices (us-east-1, as of {PRICES_AS_OF}, from the AWS price pages)")
    for value, what, source, confirmed in PRICES.values():
        p(f"  {what}: {source}{'' if confirmed else ' (as remembered, to check)'}")
    p("  Cognito: Lite $0.0055/MAU above 10,000 free MAUs, then $0.0046 above 100,000, $0.00325 above 1M,")
    p("  $0.0025 above 10M; Essentials $0.015/MAU above 10,000 free; Plus $0.020/MAU: aws.amazon.com/cognito/pricing")
    return "\n".join(out)


def parse_args(argv):
    head, _, rest = __doc__.partition("\n\n")
    a = argparse.ArgumentParser(description=head, epilog=rest.replace("%", "%%"),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    default_inputs = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "cost-inputs.json"))
    a.add_argument("--inputs", default=default_inputs, help="per-route figures (default: %(default)s)")
    a.add_argument("--bench", metavar="DIR", help="fold in the JSONL lines of DIR/*.jsonl (e.g. .local/bench)")
    a.add_argument("--mau", type=int, default=100_000, help="monthly active users (default: %(default)s)")
    a.add_argument("--signins", type=float, default=4, help="sign-ins a user a month (default: %(default)s)")
    a.add_argument("--twofa", type=float, default=0.5, help="fraction of users with 2FA (default: %(default)s)")
    a.add_argument("--refreshes", type=float, default=10, help="refreshes a user a day when active (default: %(default)s)")
    a.add_argument("--active-days", type=float, default=30, help="days a month a user is active (default: %(default)s)")
    a.add_argument("--me", type=float, default=1, help="me calls a sign-in (default: %(default)s)")
    a.add_argument("--status", type=float, default=1, help="2fa/status calls a sign-in (default: %(default)s)")
    a.add_argument("--signups", type=float, default=0.02, help="new accounts a month, fraction of MAU (default: %(default)s)")
    a.add_argument("--resets", type=float, default=0.01, help="password resets a month, fraction of MAU (default: %(default)s)")
    a.add_argument("--cold", type=float, default=0.01, help="fraction of invocations that are cold starts (default: %(default)s)")
    a.add_argument("--log-bytes", type=int, default=200, help="log bytes ingested a request (default: %(default)s)")
    a.add_argument("--no-xray", dest="xray", action="store_false", help="leave out X-Ray (the template turns tracing on)")
    a.add_argument("--stored-users", type=int, help="accounts in the table (default: twice the MAU)")
    a.add_argument("--kms-key-months", type=float, default=1, help="KMS key-months (2 after the first yearly rotation)")
    a.add_argument("--free-tier", action="store_true", help="subtract the always-free allowances")
    w = a.parse_args(argv)
    if w.stored_users is None:
        w.stored_users = 2 * w.mau
    return w


def main(argv=None):
    w = parse_args(sys.argv[1:] if argv is None else argv)
    inputs = load_inputs(w.inputs)
    notes = apply_bench(inputs, w.bench) if w.bench else []
    missing = [r for r in WORKLOAD_ROUTES if r not in inputs["routes"]]
    if missing:
        sys.exit(f"{w.inputs}: no figures for {', '.join(missing)}")
    counts = route_requests(w)
    bill = compute_bill(inputs, counts, cold_fraction=w.cold, log_bytes=w.log_bytes, xray=w.xray,
                        storage=storage_gb(w, inputs["item_kb"]), kms_key_months=w.kms_key_months,
                        free_tier=w.free_tier)
    print(report(inputs, w, bill, notes, w.inputs))


if __name__ == "__main__":
    main()
