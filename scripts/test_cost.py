"""Tests of scripts/cost.py: a tiny workload whose bill is computed by hand.

Run: python3 -m unittest scripts/test_cost.py (or python3 scripts/test_cost.py)
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cost  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_inputs():
    return {
        "item_kb": {"small": 0.5, "profile": 1.5},
        "cold_start": {"extra_billed_ms": 500, "dynamodb": {"read_units": 2}, "log_bytes": 1000},
        "routes": {
            "r": {
                "function": "f",
                "bench_route": "POST /r",
                "memory_mb": 1024,
                "duration_ms": 1000,
                "dynamodb": {"read_units": 1, "write_units": 2},
                "kms_calls": 0,
                "cold_kms_calls": 2,
                "ses_mails": 1,
            }
        },
    }


class Units(unittest.TestCase):
    def test_request_units_by_kind(self):
        kb = {"small": 0.5, "profile": 1.5}
        self.assertEqual(cost.op_units({"op": "get", "items": ["profile"]}, kb), (1, 0))
        self.assertEqual(cost.op_units({"op": "get", "items": ["profile"], "consistent": False}, kb), (0.5, 0))
        self.assertEqual(cost.op_units({"op": "batch_get", "items": ["profile", "small"]}, kb), (2, 0))
        # A Query rounds the items' total, not each item.
        self.assertEqual(cost.op_units({"op": "query", "items": [3, 3]}, kb), (2, 0))
        self.assertEqual(cost.op_units({"op": "update", "items": ["profile"]}, kb), (0, 2))
        # Two per KB per item in a transaction: 0.5 KB -> 2, 1.5 KB -> 4.
        self.assertEqual(cost.op_units({"op": "transact_write", "items": ["small", "profile"]}, kb), (0, 6))
        self.assertEqual(cost.op_units({"op": "transact_get", "items": [5]}, kb), (4, 0))
        with self.assertRaises(ValueError):
            cost.op_units({"op": "scan", "items": [1]}, kb)
        with self.assertRaises(ValueError):
            cost.op_units({"op": "get", "items": ["nothing"]}, kb)

    def test_the_readme_login_is_one_update_and_a_four_item_transaction(self):
        inputs = cost.load_inputs(os.path.join(ROOT, "bench", "cost-inputs.json"))
        route = inputs["routes"]["login_2fa_off"]
        # login item 1 WRU; session 2 + counter reset 2 + event 2 + profile check 4.
        self.assertEqual(cost.dynamodb_units(route["dynamodb"], inputs["item_kb"]), (0, 11, 2))
        refresh = inputs["routes"]["refresh"]
        self.assertEqual(cost.dynamodb_units(refresh["dynamodb"], inputs["item_kb"]), (1, 1, 2))


class Bill(unittest.TestCase):
    def test_a_million_one_second_gigabyte_requests(self):
        bill = cost.compute_bill(tiny_inputs(), {"r": 1_000_000}, kms_key_months=1)
        dollars = {(s, q): d for s, q, d in bill["services"]}
        by_quantity = {q: d for (_, q), d in dollars.items()}
        self.assertAlmostEqual(by_quantity["1,000,000 requests"], 0.20)  # $0.20 per million
        self.assertAlmostEqual(by_quantity["1,000,000 GB-s"], 16.6667)  # 1 GB x 1 s each
        self.assertAlmostEqual(by_quantity["1,000,000 HTTP API requests"], 1.00)
        self.assertAlmostEqual(by_quantity["1,000,000 read request units"], 0.125)
        self.assertAlmostEqual(by_quantity["2,000,000 write request units"], 1.25)
        self.assertAlmostEqual(by_quantity["1,000,000 mails"], 100.00)
        self.assertAlmostEqual(by_quantity["1 key-month"], 1.00)
        self.assertAlmostEqual(by_quantity["0 Decrypt requests"], 0.0)
        self.assertAlmostEqual(bill["total"], 0.20 + 16.6667 + 1.00 + 0.125 + 1.25 + 100.00 + 1.00)

    def test_cold_starts_logs_and_the_free_tier(self):
        # 10 % of 1,000,000 cold: 100,000 x 0.5 s x 1 GB more, 200,000 Decrypt, 200,000 RRU more;
        # logs 1,000,000 x 100 B + 100,000 x 1,000 B = 0.2 GB.
        bill = cost.compute_bill(tiny_inputs(), {"r": 1_000_000}, cold_fraction=0.1, log_bytes=100)
        t = bill["totals"]
        self.assertAlmostEqual(t["gb_s"], 1_050_000)
        self.assertAlmostEqual(t["kms"], 200_000)
        self.assertAlmostEqual(t["rru"], 1_200_000)
        self.assertAlmostEqual(t["log_bytes"], 2e8)
        list_price = bill["total"]
        free = cost.compute_bill(tiny_inputs(), {"r": 1_000_000}, cold_fraction=0.1, log_bytes=100, free_tier=True)
        # Free: 1M Lambda requests ($0.20), 400,000 GB-s ($6.6667), 20,000 KMS requests ($0.06), 0.2 GB of logs ($0.10).
        self.assertAlmostEqual(list_price - free["total"], 0.20 + 400_000 * 0.0000166667 + 0.06 + 0.10)

    def test_xray_records_one_trace_a_second_and_five_percent_of_the_rest(self):
        n = cost.SECONDS_A_MONTH + 1_000_000
        bill = cost.compute_bill(tiny_inputs(), {"r": n}, xray=True)
        self.assertAlmostEqual(bill["totals"]["traces"], cost.SECONDS_A_MONTH + 50_000)


class Cognito(unittest.TestCase):
    def test_published_plans(self):
        self.assertEqual(cost.cognito_monthly(5_000, "Essentials"), 0)
        self.assertAlmostEqual(cost.cognito_monthly(100_000, "Lite"), 90_000 * 0.0055)
        self.assertAlmostEqual(cost.cognito_monthly(200_000, "Lite"), 90_000 * 0.0055 + 100_000 * 0.0046)
        self.assertAlmostEqual(cost.cognito_monthly(100_000, "Essentials"), 1_350)
        self.assertAlmostEqual(cost.cognito_monthly(100_000, "Plus"), 2_000)


class Workload(unittest.TestCase):
    def test_default_workload_counts(self):
        w = cost.parse_args([])
        counts = cost.route_requests(w)
        self.assertEqual(counts["login_2fa_off"], 200_000)
        self.assertEqual(counts["login_2fa_on"], 200_000)
        self.assertEqual(counts["verify_login"], 200_000)
        self.assertEqual(counts["refresh"], 30_000_000)
        self.assertEqual(counts["me"] + counts["twofa_status"], 800_000)
        self.assertEqual(set(counts), set(cost.WORKLOAD_ROUTES))

    def test_bench_lines_replace_the_estimates(self):
        inputs = tiny_inputs()
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "lambda.jsonl"), "w") as f:
                for line in [
                    {"bench": "duration", "function": "f", "memory_mb": 256, "billed_median_ms": 40},
                    {"bench": "aws_calls", "route": "POST /r", "calls": 3, "which": ["DynamoDB.GetItem", "KMS.Decrypt"]},
                    {"bench": "cost_route", "route": "r", "ses_mails": 0},
                ]:
                    f.write(json.dumps(line) + "\n")
            notes = cost.apply_bench(inputs, d)
        r = inputs["routes"]["r"]
        self.assertEqual((r["memory_mb"], r["duration_ms"], r["estimate"], r["ses_mails"]), (256, 40, False, 0))
        self.assertEqual(notes, [])  # explicit units list no calls: nothing to compare

    def test_a_call_count_that_differs_from_the_readme_is_reported(self):
        inputs = cost.load_inputs(os.path.join(ROOT, "bench", "cost-inputs.json"))
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "lambda.jsonl"), "w") as f:
                calls = ["DynamoDB.GetItem", "DynamoDB.UpdateItem", "DynamoDB.Query"]
                f.write(json.dumps({"bench": "aws_calls", "route": "POST /auth/refresh", "calls": 3, "which": calls}))
            notes = cost.apply_bench(inputs, d)
        self.assertEqual(notes, ["refresh: 3 DynamoDB calls measured, 2 listed in the inputs"])

    def test_each_route_is_priced_at_its_functions_memory_size_in_the_template(self):
        import check_routes  # its loader reads the template's CloudFormation tags

        with open(os.path.join(ROOT, "infra", "template.yaml")) as f:
            template = check_routes.yaml.load(f, Loader=check_routes.CloudFormationLoader)
        default = template["Globals"]["Function"]["MemorySize"]
        sizes = {
            r["Metadata"]["BuildProperties"]["Binary"]: r["Properties"].get("MemorySize", default)
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"
        }
        inputs = cost.load_inputs(os.path.join(ROOT, "bench", "cost-inputs.json"))
        for name, route in inputs["routes"].items():
            with self.subTest(route=name):
                self.assertEqual(route["memory_mb"], sizes[route["function"]])

    def test_the_default_report_prints(self):
        w = cost.parse_args(["--inputs", os.path.join(ROOT, "bench", "cost-inputs.json")])
        inputs = cost.load_inputs(w.inputs)
        bill = cost.compute_bill(inputs, cost.route_requests(w), cold_fraction=w.cold, log_bytes=w.log_bytes,
                                 xray=w.xray, storage=cost.storage_gb(w, inputs["item_kb"]))
        text = cost.report(inputs, w, bill, [], w.inputs)
        self.assertIn("Amazon Cognito", text)
        self.assertIn(f"Prices as of {cost.PRICES_AS_OF}", text)


if __name__ == "__main__":
    unittest.main()
