"""Memory sizing from measurement (issue 21, item 3).

Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU.
This runs a function's release `bootstrap` behind a stand-in of the Lambda
runtime API against moto, inside a cgroup whose CPU quota is that share of one
CPU (CFS bandwidth: quota = share x period) and whose memory limit is the size,
and prints per size: the median and p90 duration of warm requests, the cold
start, the peak memory and the cost per million requests at Lambda's price.

Only the function's process is in the cgroup: the runtime API stand-in, moto
and the helper functions that make each request's preconditions (a pre-2FA
cookie, a ceremony) run outside it, unmeasured.

Usage (root; `scripts/bench-sizing.sh` sets everything up):
  bench_sizing.py BOOTSTRAP_DIR MOTO_URL OUT_DIR [--requests 30] [--rounds 3]
                  [--functions login,refresh,me] [--sizes 128,256,...]
  --no-limit   no cgroup (for a machine without root): every size runs at the
               host's full CPU, so the table shows the harness, not a curve.
"""

import argparse
import atexit
import http.server
import json
import math
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

# Lambda's price, x86_64, us-east-1 (the first tier of duration), as of 2026-12:
# $0.0000166667 per GB-second (GB = 1,024 MB), $0.20 per million requests,
# duration billed per 1 ms, rounded up.
PRICE_DATE = "2026-12"
PRICE_GB_SECOND = 0.0000166667
PRICE_PER_MILLION_REQUESTS = 0.20
BILLING_GRANULARITY_MS = 1

# Lambda: one full vCPU at 1,769 MB, in proportion below and above.
MB_PER_VCPU = 1769
# The CFS period the quota is spread over. Lambda does not publish its own.
# With the kernel's default of 100 ms, a request whose CPU fits in one
# period's quota (21 ms of argon2 at 1,024 MB: quota 58 ms) runs unthrottled
# at full speed when it finds the period's quota unspent, which flatters the
# sizes below one vCPU; 20 ms spreads the share more finely (the pessimistic
# choice). --period-us 100000 shows the other side. A request that finds its
# period's quota spent waits for the next one: the p90 at small sizes.
CFS_PERIOD_US = 20_000

# Lambda reserves a function's share; on a shared machine other work would
# take part of it. The highest weight lets the function have its quota first
# when it can run (the quota still caps it), which costs the others little:
# it runs a few ms at a time.
CPU_WEIGHT_V2 = 10_000
CPU_SHARES_V1 = 262_144

# The kinds of function: what a warm request of each does.
KINDS = {
    "login": "argon2id verify + RS256 access token (2FA off)",
    "refresh": "refresh-token rotation + RS256 access token",
    "me": "read-only: JWT verify + one GetItem",
    "twofa-verify-login": "passkey proof (ES256 verify) + RS256 access token",
    "passkey-login": "discoverable passkey sign-in + RS256 access token",
}
# argon2 (p=1) is one thread: sizes past one vCPU show whether more helps.
DEFAULT_SIZES = {"login": [128, 256, 512, 1024, 1769, 2048, 3008]}
SIZES = [128, 256, 512, 1024, 1769]
HELPERS = ["register", "email-verify", "login", "passkey-options", "passkey-register", "twofa-challenge",
           "passkey-signin-options"]
ORIGIN = "http://localhost:4200"
PASSWORD = "correct horse battery staple"
# What the deployed functions get from the template (infra/template.yaml) and
# from scripts/local-env.sh; nothing else of this shell reaches them.
PASSED_ENV = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
              "AWS_EC2_METADATA_DISABLED", "TABLE_NAME", "KMS_KEY_ID", "ISSUER", "ISSUER_URL", "AUDIENCE",
              "COOKIE_SECURE", "COOKIE_SAMESITE", "ALLOWED_ORIGINS", "MAIL_FROM", "MAIL_CONFIGURATION_SET",
              "WEB_BASE_URL", "RP_ID", "ORIGIN_SECRET"]


def vcpu(size_mb):
    return size_mb / MB_PER_VCPU


def cost_per_million(size_mb, duration_ms):
    billed_ms = math.ceil(duration_ms / BILLING_GRANULARITY_MS) * BILLING_GRANULARITY_MS
    return size_mb / 1024 * billed_ms / 1000 * PRICE_GB_SECOND * 1e6 + PRICE_PER_MILLION_REQUESTS


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class NoCgroup(Exception):
    pass


class Cgroups:
    """A fresh child cgroup per run with a CPU quota and a memory limit:
    cgroup v2 (cpu.max, memory.max) when its cpu and memory controllers are
    there, else v1's cpu and memory hierarchies (cpu.cfs_quota_us,
    memory.limit_in_bytes: the same CFS bandwidth control and memory charge)."""

    def __init__(self):
        if os.geteuid() != 0:
            raise NoCgroup("not root: creating a cgroup and writing its CPU quota needs root")
        self.v2 = self._v2_root()
        if self.v2 is None:
            self.v1 = {c: self._v1_parent(c) for c in ("cpu", "memory")}
        self.made = []
        atexit.register(self.cleanup)

    @staticmethod
    def _v2_root():
        root = "/sys/fs/cgroup"
        controllers = f"{root}/cgroup.controllers"
        if not os.path.exists(controllers):
            return None
        have = open(controllers).read().split()
        if not {"cpu", "memory"} <= set(have):
            raise NoCgroup(f"cgroup v2 at {root} lacks the cpu or memory controller (it has: {' '.join(have)})")
        enabled = open(f"{root}/cgroup.subtree_control").read().split()
        for c in ("cpu", "memory"):
            if c not in enabled:
                # The root is exempt from the no-internal-processes rule: children may get controllers.
                with open(f"{root}/cgroup.subtree_control", "w") as f:
                    f.write(f"+{c}")
        return root

    @staticmethod
    def _v1_parent(controller):
        mounts = [line.split() for line in open("/proc/mounts")]
        mount = next((m[1] for m in mounts if m[2] == "cgroup" and controller in m[3].split(",")), None)
        if mount is None:
            raise NoCgroup(f"no cgroup v2 with controllers and no v1 hierarchy of {controller} in /proc/mounts")
        own = next((line.strip().split(":", 2)[2] for line in open("/proc/self/cgroup")
                    if controller in line.split(":")[1].split(",")), "/")
        # Under this process's own cgroup, so every limit above it still holds.
        return os.path.join(mount, own.lstrip("/"))

    def make(self, size_mb, name):
        quota = round(vcpu(size_mb) * CFS_PERIOD_US)
        limit = size_mb * 1024 * 1024
        leaf = f"twofa-sizing-{os.getpid()}-{name}-{size_mb}"
        if self.v2:
            path = os.path.join(self.v2, leaf)
            os.mkdir(path)
            self.made.append(path)
            write(f"{path}/cpu.max", f"{quota} {CFS_PERIOD_US}")
            write(f"{path}/cpu.weight", str(CPU_WEIGHT_V2))
            write(f"{path}/memory.max", str(limit))
            if os.path.exists(f"{path}/memory.swap.max"):
                write(f"{path}/memory.swap.max", "0")
            return Cgroup([path], path, v2=True)
        cpu, mem = (os.path.join(self.v1[c], leaf) for c in ("cpu", "memory"))
        for path in (cpu, mem):
            os.mkdir(path)
            self.made.append(path)
        write(f"{cpu}/cpu.cfs_period_us", str(CFS_PERIOD_US))
        write(f"{cpu}/cpu.cfs_quota_us", str(quota))
        write(f"{cpu}/cpu.shares", str(CPU_SHARES_V1))
        write(f"{mem}/memory.limit_in_bytes", str(limit))
        return Cgroup([cpu, mem], mem, v2=False)

    def remove(self, group):
        for path in group.paths:
            for _ in range(50):
                try:
                    os.rmdir(path)
                    self.made.remove(path)
                    break
                except OSError:
                    time.sleep(0.1)

    def cleanup(self):
        for path in list(self.made):
            try:
                os.rmdir(path)
            except OSError as error:
                print(f"left {path}: {error}", file=sys.stderr)


def write(path, value):
    with open(path, "w") as f:
        f.write(value)


class Cgroup:
    def __init__(self, paths, memory, v2):
        self.paths, self.memory, self.v2 = paths, memory, v2

    def enter(self):
        """Runs in the child between fork and exec: the function starts inside."""
        pid = str(os.getpid())
        for path in self.paths:
            write(f"{path}/cgroup.procs", pid)

    def peak_mib(self):
        name = "memory.peak" if self.v2 else "memory.max_usage_in_bytes"
        try:
            return int(open(f"{self.memory}/{name}").read()) / 2**20
        except OSError:
            return float("nan")

    def oom_kills(self):
        name = "memory.events" if self.v2 else "memory.oom_control"
        text = open(f"{self.memory}/{name}").read()
        found = re.search(r"oom_kill (\d+)", text)
        return int(found.group(1)) if found else 0


class Runtime:
    """The Lambda runtime API for one process, one invocation at a time. A
    request's duration is Lambda's: from the event handed to the function
    (the answer of /invocation/next) to its /response."""

    def __init__(self, bootstrap, name, env, size_mb, log, cgroup=None):
        self.name, self.events, self.answers = name, queue.Queue(), queue.Queue()
        self.handed_at, self.first_poll = None, None
        rt = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if rt.first_poll is None:
                    rt.first_poll = time.perf_counter()
                event = rt.events.get()
                body = json.dumps(event).encode()
                self.send_response(200)
                for k, v in [("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4())),
                             ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000)),
                             ("Lambda-Runtime-Invoked-Function-Arn",
                              f"arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                             ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                             ("Content-Type", "application/json"), ("Content-Length", str(len(body)))]:
                    self.send_header(k, v)
                self.end_headers()
                rt.handed_at = time.perf_counter()
                self.wfile.write(body)
                self.wfile.flush()

            def do_POST(self):
                answered = time.perf_counter()
                data = self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                rt.answers.put((self.path, data, answered))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [bootstrap],
            env={**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}",
                 "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(size_mb),
                 "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
                 "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                 # The template's LoggingConfig: JSON, application logs at INFO.
                 "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"},
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=cgroup.enter if cgroup else None)

    def invoke(self, event):
        """(response, duration ms, ms from process start to this response)."""
        self.events.put(event)
        try:
            path, data, answered = self.answers.get(timeout=60)
        except queue.Empty:
            code = self.proc.poll()
            raise SystemExit(f"{self.name}: no answer in 60 s (process {'exited ' + str(code) if code is not None else 'running'})")
        if not path.endswith("/response"):
            raise SystemExit(f"{self.name}: {path} {data[:300]!r}")
        return json.loads(data), (answered - self.handed_at) * 1000, (answered - self.started) * 1000

    def cpu_ms(self):
        """CPU time of the process's live threads (their schedstat), in ms."""
        total = 0
        for task in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                total += int(open(f"/proc/{self.proc.pid}/task/{task}/schedstat").read().split()[0])
            except (OSError, ValueError):
                pass
        return total / 1e6

    def peak_rss_mib(self):
        """VmHWM: the peak resident set, the binary's own pages included."""
        found = re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{self.proc.pid}/status").read())
        return int(found.group(1)) / 1024

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.server.shutdown()
        self.server.server_close()


class Bench:
    def __init__(self, args):
        self.dir, self.moto, self.out = args.bootstrap_dir, args.moto_url, args.out_dir
        self.events_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "events")
        self.env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        self.env.update({"AWS_ENDPOINT_URL": self.moto, "SSL_CERT_FILE": system_ca_bundle()})
        self.passkey_tool = args.passkey_tool
        self.log = open(os.path.join(self.out, "functions.log"), "a")
        self.helpers = {n: Runtime(self.bootstrap(n), n, self.env, 512, self.log) for n in HELPERS}

    def bootstrap(self, name):
        return os.path.join(self.dir, name, "bootstrap")

    def event(self, fn, cookies, body=None):
        ev = json.load(open(os.path.join(self.events_dir, f"{fn}.json")))
        ev["headers"] = {k: v for k, v in ev["headers"].items() if k not in ("cookie", "authorization")}
        ev["headers"]["origin"] = ORIGIN
        ev["cookies"] = [f"{k}={v}" for k, v in cookies.items()]
        ev["body"] = None if body is None else json.dumps(body)
        return ev

    @staticmethod
    def absorb(cookies, response):
        for c in response.get("cookies", []):
            k, v = c.split(";")[0].split("=", 1)
            if v:
                cookies[k] = v
            else:
                cookies.pop(k, None)

    def call(self, rt, fn, cookies, body=None, status=200):
        response, ms, _ = rt.invoke(self.event(fn, cookies, body))
        assert response["statusCode"] == status, (fn, response)
        self.absorb(cookies, response)
        b = response.get("body")
        return (json.loads(b) if b else None), ms

    def helper(self, fn, cookies, body=None, status=200):
        return self.call(self.helpers[fn], fn, cookies, body, status)[0]

    def passkey(self, command, state, options):
        out = subprocess.run([self.passkey_tool, command, state, ORIGIN], input=json.dumps(options),
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def mail_token(self, email):
        with urllib.request.urlopen(f"{self.moto}/moto-api/data.json", timeout=10) as r:
            messages = json.load(r).get("ses", {}).get("Message", [])
        for m in reversed(messages):
            if email in m.get("destinations", {}).get("ToAddresses", []):
                found = re.search(r"verify-email[^\"]*#token=([^\"&]+)", m.get("body", ""))
                if found:
                    return found.group(1)
        raise SystemExit(f"no verification mail for {email}")

    def user(self, email):
        """A verified user with 2FA off; its cookies after a sign-in."""
        cookies = {}
        self.helper("register", cookies, {"email": email, "password": PASSWORD}, 201)
        self.helper("email-verify", cookies, {"token": self.mail_token(email)})
        self.helper("login", cookies, {"email": email, "password": PASSWORD})
        return cookies

    def setup(self):
        tag = uuid.uuid4().hex[:8]
        self.plain = f"sizing-plain-{tag}@bench.example"
        self.user(self.plain)
        # A passkey as the first factor turns 2FA on (API v3): the second
        # factor of verify-login, and the credential of a passkey sign-in.
        self.pk_email = f"sizing-pk-{tag}@bench.example"
        cookies = self.user(self.pk_email)
        self.pk_state = tempfile.mktemp(prefix="sizing-passkey-")
        atexit.register(lambda: os.path.exists(self.pk_state) and os.unlink(self.pk_state))
        options = self.helper("passkey-options", cookies, {})
        self.helper("passkey-register", cookies, self.passkey("register", self.pk_state, options), 201)

    def request(self, fn):
        """(event for `fn`, the status it must answer): one warm request's
        preconditions, made by helpers outside the cgroup."""
        creds = {"email": self.plain, "password": PASSWORD}
        if fn == "login":
            return self.event("login", {}, creds), 200
        if fn == "me":
            return self.event("me", {"access_token": self.session["access_token"]}), 200
        if fn == "refresh":
            return self.event("refresh", {"refresh_token": self.session["refresh_token"]}), 200
        if fn == "twofa-verify-login":
            cookies = {}
            assert self.helper("login", cookies, {"email": self.pk_email, "password": PASSWORD})["requires2FA"]
            proof = self.passkey("sign", self.pk_state, self.helper("twofa-challenge", cookies, {}))
            return self.event("twofa-verify-login", cookies, {"passkey": proof}), 200
        if fn == "passkey-login":
            options = self.helper("passkey-signin-options", {}, {})
            return self.event("passkey-login", {}, self.passkey("sign", self.pk_state, options)), 200
        raise SystemExit(f"no request for {fn}")

    def run(self, fn, size, requests, cgroups):
        """One container: started (cold), then `requests` warm requests."""
        # A fresh session per container: refresh rotates it, me reads it.
        self.session = {}
        self.helper("login", self.session, {"email": self.plain, "password": PASSWORD})
        # The first request is made before the process starts: its cold start
        # is the function's own time alone.
        event, status = self.request(fn)
        group = cgroups.make(size, fn) if cgroups else None
        rt = Runtime(self.bootstrap(fn), fn, self.env, size, self.log, group)
        try:
            durations, cold, cpu_after_cold = [], None, 0
            for i in range(requests + 1):
                if i > 0:
                    event, status = self.request(fn)
                response, ms, since_start = rt.invoke(event)
                assert response["statusCode"] == status, (fn, size, response)
                if fn == "refresh":
                    self.absorb(self.session, response)
                if i == 0:
                    cold = {"cold_ms": since_start, "init_ms": (rt.first_poll - rt.started) * 1000,
                            "first_request_ms": ms}
                    cpu_after_cold = rt.cpu_ms()
                else:
                    durations.append(ms)
            cpu_per_request = (rt.cpu_ms() - cpu_after_cold) / max(1, requests)
            rss = rt.peak_rss_mib()
            peak = group.peak_mib() if group else float("nan")
            ooms = group.oom_kills() if group else 0
        finally:
            rt.stop()
            if group:
                cgroups.remove(group)
        return {"durations": durations, "cold": cold, "peak": peak, "rss": rss, "ooms": ooms, "cpu": cpu_per_request}


def system_ca_bundle():
    for path in ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if os.path.exists(path):
            return path
    raise SystemExit("no system CA bundle")


def main():
    global CFS_PERIOD_US
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bootstrap_dir")
    p.add_argument("moto_url")
    p.add_argument("out_dir")
    p.add_argument("--requests", type=int, default=30, help="warm requests per size, over all rounds")
    p.add_argument("--rounds", type=int, default=3,
                   help="sweeps over the sizes, interleaved so that the machine's noise falls on every size")
    p.add_argument("--functions", default="login,refresh,me,twofa-verify-login,passkey-login")
    p.add_argument("--sizes", help="comma-separated MB (default: 128..1769, and 2048, 3008 for login)")
    p.add_argument("--passkey-tool", required=True, help="testkit's `passkey` binary")
    p.add_argument("--period-us", type=int, default=CFS_PERIOD_US, help="the CFS period of the quota")
    p.add_argument("--no-limit", action="store_true", help="no cgroup: every size at the host's full CPU")
    args = p.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    CFS_PERIOD_US = args.period_us
    load_before = os.getloadavg()[0]

    if args.no_limit:
        cgroups = None
        print("--no-limit: no CPU quota or memory limit; every row runs at the host's full CPU", file=sys.stderr)
    else:
        try:
            cgroups = Cgroups()
        except NoCgroup as why:
            raise SystemExit(f"cannot emulate Lambda's CPU share: {why}. Run as root, or pass --no-limit "
                             "to check the harness at full CPU (its figures are then no sizing curve).")
        print(f"cgroup {'v2' if cgroups.v2 else 'v1'}: CPU quota of size/{MB_PER_VCPU} vCPU per "
              f"{CFS_PERIOD_US // 1000} ms period, memory limit = size", file=sys.stderr)

    bench = Bench(args)
    bench.setup()
    functions = args.functions.split(",")
    sizes = {fn: ([int(s) for s in args.sizes.split(",")] if args.sizes else DEFAULT_SIZES.get(fn, SIZES))
             for fn in functions}
    per_round = [args.requests // args.rounds + (1 if r < args.requests % args.rounds else 0)
                 for r in range(args.rounds)]
    samples = {(fn, s): {"durations": [], "cold": [], "peak": [], "rss": [], "ooms": 0, "cpu": []}
               for fn in functions for s in sizes[fn]}
    for r, n in enumerate(per_round):
        for fn in functions:
            for size in sizes[fn]:
                print(f"round {r + 1}/{args.rounds}: {fn} at {size} MB, {n} warm requests", file=sys.stderr)
                run = bench.run(fn, size, n, cgroups)
                s = samples[(fn, size)]
                s["durations"] += run["durations"]
                s["cold"].append(run["cold"])
                s["peak"].append(run["peak"])
                s["rss"].append(run["rss"])
                s["cpu"].append(run["cpu"])
                s["ooms"] += run["ooms"]
    for rt in bench.helpers.values():
        rt.stop()

    rows = []
    for (fn, size), s in samples.items():
        d = s["durations"]
        rows.append({
            "bench": "sizing", "function": fn, "kind": KINDS[fn], "memory_mb": size,
            "vcpu": round(vcpu(size), 3) if cgroups else None, "requests": len(d),
            "median_ms": round(statistics.median(d), 2), "p90_ms": round(percentile(d, 90), 2),
            "cold_start_median_ms": round(statistics.median(c["cold_ms"] for c in s["cold"]), 1),
            "init_median_ms": round(statistics.median(c["init_ms"] for c in s["cold"]), 1),
            "first_request_median_ms": round(statistics.median(c["first_request_ms"] for c in s["cold"]), 1),
            "cpu_ms_per_request": round(statistics.median(s["cpu"]), 2),
            "cold_starts": len(s["cold"]), "cgroup_peak_mib": round(max(s["peak"]), 1),
            "peak_rss_mib": round(max(s["rss"]), 1), "oom_kills": s["ooms"],
            "usd_per_million": round(cost_per_million(size, statistics.median(d)), 3),
            "price": {"gb_second": PRICE_GB_SECOND, "per_million_requests": PRICE_PER_MILLION_REQUESTS,
                      "billed_per_ms": BILLING_GRANULARITY_MS, "date": PRICE_DATE},
            "limited": cgroups is not None,
        })
    load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    for row in rows:
        row["loadavg_1min_start_end"] = load
        row["cfs_period_us"] = CFS_PERIOD_US if cgroups else None
    with open(os.path.join(args.out_dir, "sizing.jsonl"), "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print_table(rows)
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-min load average {load[0]} at the start, {load[1]} at the end "
          "(above 0 means other work shared the CPUs: medians, not means)")


def print_table(rows):
    print(f"Lambda x86_64 price of {PRICE_DATE}: ${PRICE_GB_SECOND:.10f} per GB-second, "
          f"${PRICE_PER_MILLION_REQUESTS:.2f} per million requests, billed per {BILLING_GRANULARITY_MS} ms; "
          "cost per million on the median warm duration.\n"
          "Duration: event handed to the function until its response (the runtime API stand-in's clock); "
          "cold: process start to the first response; CPU: the process's CPU per warm request; "
          "RSS: peak resident set (VmHWM).")
    for fn in dict.fromkeys(r["function"] for r in rows):
        mine = [r for r in rows if r["function"] == fn]
        best = min(r["median_ms"] for r in mine)
        print(f"\n{fn}: {mine[0]['kind']} ({mine[0]['requests']} warm requests and {mine[0]['cold_starts']} cold "
              "starts per size)")
        print(f"{'MB':>5} {'vCPU':>6} {'median ms':>10} {'p90 ms':>9} {'vs best':>8} {'cold ms':>8} "
              f"{'CPU ms':>7} {'RSS MiB':>8} {'$/million':>10}")
        for r in mine:
            share = f"{r['vcpu']:.3f}" if r["vcpu"] is not None else "host"
            oom = f"  OOM x{r['oom_kills']}" if r["oom_kills"] else ""
            print(f"{r['memory_mb']:>5} {share:>6} {r['median_ms']:>10.1f} {r['p90_ms']:>9.1f} "
                  f"{r['median_ms'] / best:>7.2f}x {r['cold_start_median_ms']:>8.1f} {r['cpu_ms_per_request']:>7.2f} "
                  f"{r['peak_rss_mib']:>8.1f} "
                  f"{r['usd_per_million']:>10.3f}{oom}")


if __name__ == "__main__":
    main()
