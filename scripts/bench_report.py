"""Prints the `make bench` table from the figures in DIR (see scripts/bench.sh).

Usage: python3 scripts/bench_report.py DIR
"""

import glob
import json
import os
import sys


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def criterion_us(group, name=None):
    """Median of a criterion benchmark, in microseconds."""
    parts = [group] + ([name] if name else [])
    matches = glob.glob(os.path.join("target", "**", "criterion", *parts, "new", "estimates.json"), recursive=True)
    with open(matches[0]) as f:
        return json.load(f)["median"]["point_estimate"] / 1000.0


def fmt_us(us):
    return f"{us * 1000:.0f} ns" if us < 1 else (f"{us:.2f} µs" if us < 1000 else f"{us / 1000:.1f} ms")


def main():
    out = sys.argv[1]
    node = {line["bench"]: line for line in lines(os.path.join(out, "node.jsonl"))}
    lam = lines(os.path.join(out, "lambda.jsonl"))
    zips = lines(os.path.join(out, "zips.jsonl"))
    machine = lines(os.path.join(out, "machine.jsonl"))[0]
    rows = []

    def row(what, rust_us, node_us, goal="", met=None):
        ratio = "—" if not node_us else (f"{node_us / rust_us:.2f}×" if node_us < 10 * rust_us else f"{node_us / rust_us:,.0f}×")
        mark = "" if met is None else ("met" if met else "MISSED")
        rows.append((what, fmt_us(rust_us), fmt_us(node_us) if node_us else "—", ratio, goal, mark))

    totp = node["totp_verify"]
    right = criterion_us("totp_verify", "right_code")
    row("TOTP verify, window ±1, right code", right, totp["us_per_op"], "< 1 µs", right < 1)
    row("TOTP verify, window ±1, wrong code", criterion_us("totp_verify", "wrong_code"), totp["wrong_code"]["us_per_op"])
    parts = node["verify_login_compute"]["parts_us_per_op"]
    rs256 = node["verify_login_compute"]["rs256_access_variant"]
    # Access tokens are RS256 on both sides (the Node harness's RS256 variant):
    # like for like. Refresh and pre-2FA tokens are HS256 on both.
    row("JWT sign, access (RS256, RSA-2048)", criterion_us("jwt", "access_sign"), rs256["parts_us_per_op"]["jwt_sign_access_rs256"])
    row("JWT sign, refresh (HS256)", criterion_us("jwt", "refresh_sign"), None)
    row("JWT sign, pre2fa (HS256)", criterion_us("jwt", "pre2fa_sign"), None)
    row("JWT verify, access (RS256)", criterion_us("jwt", "access_verify"), rs256["parts_us_per_op"]["jwt_verify_access_rs256"])
    row("JWT verify, refresh (HS256)", criterion_us("jwt", "refresh_verify"), None)
    row("JWT verify, pre2fa (HS256)", criterion_us("jwt", "pre2fa_verify"), parts["jwt_verify_twofa"])
    vl = criterion_us("verify_login_compute")
    vl_node = rs256["us_per_op"]
    row("verify-login compute, access RS256 both sides", vl, vl_node, "≥ 50× Node", vl_node / vl >= 50)
    row("  (the tutorial's own path signs HS256)", vl, node["verify_login_compute"]["us_per_op"])
    pw = node["password_hash_rust_default_params"]
    row("argon2id hash, m=19456 KiB t=2 p=1", criterion_us("argon2id", "hash"), pw["hash"]["ms_per_op_median"] * 1000)
    row("argon2id verify, same parameters", criterion_us("argon2id", "verify"), pw["verify"]["ms_per_op_median"] * 1000)
    cold = next(line for line in lam if line["bench"] == "cold_start")
    node_cold = node["cold_start"]["full_init"]["median_ms"]
    row(
        f"cold start to first response (median of {cold['runs']})",
        cold["median_ms"] * 1000,
        node_cold * 1000,
        "≤ 1/10 of Node",
        cold["median_ms"] <= node_cold / 10,
    )
    # Node's figure makes no AWS call; this part of ours makes none either.
    row(
        "  of which init, to the first poll (no AWS call)",
        cold["init_to_first_poll_median_ms"] * 1000,
        node_cold * 1000,
    )

    print(f"\nmachine: {machine['cpu']}, {machine['cores']} cores; {machine['rustc']}; node {machine['node']}; {machine['date']}\n")
    widths = [max(len(str(r[i])) for r in rows + [("measurement", "Rust", "Node 20", "Node/Rust", "goal", "")]) for i in range(6)]
    header = ("measurement", "Rust", "Node 20", "Node/Rust", "goal", "")
    for r in [header] + rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))

    print("\nAWS calls per request, warm container (DESIGN.md budget where one is set):")
    for line in (line for line in lam if line["bench"] == "aws_calls"):
        budget = line["budget"]
        mark = "" if budget is None else ("  met" if line["calls"] <= budget else "  MISSED")
        limit = f" (budget {budget})" if budget is not None else ""
        print(f"  {line['route']:<32} {line['calls']}{limit}{mark}  {', '.join(line['which'])}")

    rss = {line["function"]: line for line in lam if line["bench"] == "rss"}
    print("\nper function: peak RSS after 1000 warm requests (goal ≤ 32 MB), release zip (goal ≤ 5 MB):")
    for z in zips:
        r = rss.get(z["function"], {})
        mib = r.get("peak_rss_mib")
        zip_mb = z["zip_bytes"] / 1e6
        rss_mark = "" if mib is None else ("met" if mib * 1.048576 <= 32 else "MISSED")
        zip_mark = "met" if zip_mb <= 5 else "MISSED"
        print(
            f"  {z['function']:<20} RSS {mib if mib is not None else '—':>6} MiB {rss_mark:<6}  "
            f"zip {zip_mb:.2f} MB {zip_mark:<6} (binary {z['binary_bytes'] / 1e6:.1f} MB)"
        )


if __name__ == "__main__":
    main()
