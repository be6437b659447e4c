#!/usr/bin/env python3
"""The TTC benchmark driver, called by tools/bench (which sets up the stack).

For each may worker count and each connection count it runs every phase
with wrk against a fresh boxoffice server, reads the server's counters
from /metrics, the CPU time of every process, checks that TigerBeetle and
PostgreSQL agree, and writes results/<date>-<host>/ (summary.md,
results.json, throughput.svg).

The load generator (wrk) runs on the same machine as the server and the
databases: every figure says so.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import math
import os
import platform
import re
import resource
import secrets
import signal
import statistics
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BINARY = REPO / "target/release/boxoffice"
MINIHTTP = REPO / "target/release/noop-minihttp"
STACK = Path(os.environ.get("BOXOFFICE_STACK_DIR", REPO / ".stack"))
PG_URL = os.environ.get("BOXOFFICE_PG_URL", "postgres://boxoffice@127.0.0.1:34001/boxoffice")
TB_ADDRESS = os.environ.get("BOXOFFICE_TB_ADDRESS", "127.0.0.1:34000")
REDIS_URL = os.environ.get("BOXOFFICE_REDIS_URL", "redis://127.0.0.1:34002/")

# The original's figures (theirs, on their machine: 8 vCPU ARM, TigerBeetle
# in development mode; full flow on 4 vCPU), from shared/reference/tigerfans.md.
THEIRS = {"reserve": 977, "checkout": 861, "commit": 647, "webhook": 358, "full-flow": 135}
PHASES = ["noop-minihttp", "noop", "reserve", "commit", "checkout", "webhook", "full-flow"]
PRICE_B_CENTS = 3500
CAPACITY = 100_000_000
OASIS_TICKETS = 1_400_000


def log(message):
    print(f"bench: {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_http(url, timeout_s=60):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer within {timeout_s} s")


def http_get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


# ---------------------------------------------------------------- processes

def cpu_seconds(pid):
    """utime + stime of one process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def cpu_ns_precise(pid):
    """CPU time of every thread of a live process, in nanoseconds, from the
    scheduler's own accounting (/proc/<pid>/task/*/schedstat): exact, where
    utime + stime are sampled at the tick."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def read_pid(path):
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def children_of(pid):
    """PostgreSQL forks a backend per connection: count them all."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    return pids


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Processes:
    """CPU time of the server, TigerBeetle, PostgreSQL, Redis and wrk."""

    def __init__(self, server_pid):
        self.pids = {
            "server": server_pid,
            "tigerbeetle": read_pid(STACK / "tigerbeetle/pid"),
            "postgres": read_pid(STACK / "postgres/pid"),
            "redis": read_pid(STACK / "redis/pid"),
        }

    def snapshot(self):
        cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items() if pid}
        postmaster = self.pids.get("postgres")
        if postmaster:
            cpu["postgres"] += sum(cpu_seconds(child) for child in children_of(postmaster))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu["wrk"] = usage.ru_utime + usage.ru_stime
        return cpu


# ---------------------------------------------------------------- the server

def bench_events(path):
    """Two fresh events: one for the sale phases, one for accounting only."""
    base = (int(time.time()) % 1_000_000) * 100 + 10_000_000
    text = ""
    for offset, slug in ((0, "bench-sale"), (1, "bench-accounting")):
        text += (
            f'[[events]]\nid = {base + offset}\nslug = "{slug}"\nname = "Benchmark {slug}"\n'
            f'currency = "EUR"\ngoodies = 100\n'
            f'[[events.classes]]\ncode = "A"\nname = "Premium"\nprice_cents = 6500\ncapacity = {CAPACITY}\n'
            f'[[events.classes]]\ncode = "B"\nname = "Standard"\nprice_cents = {PRICE_B_CENTS}\n'
            f"capacity = {CAPACITY}\n"
        )
    Path(path).write_text(text)
    return base


class Server:
    def __init__(self, workers, events_path, webhook_secret, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, BOXOFFICE_WEBHOOK_SECRET=webhook_secret,
                   BOXOFFICE_SECRET_KEY=secrets.token_hex(24))
        command = [str(BINARY), "--tb-address", TB_ADDRESS, "serve", "--listen", f"127.0.0.1:{self.port}",
                   "--workers", str(workers), "--events", str(events_path), "--pg-url", PG_URL,
                   "--redis-url", REDIS_URL, "--benchmark-endpoints"]
        self.command = command
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_http(self.url + "/noop")

    def metrics(self):
        values = {}
        for line in http_get(self.url + "/metrics").splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.split()
                values[name] = float(value)
        return values

    def events(self):
        return json.loads(http_get(self.url + "/api/events"))["events"]

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


class Minihttp:
    """may_minihttp's own no-op server: this machine's HTTP yardstick."""

    def __init__(self, workers):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([str(MINIHTTP), f"127.0.0.1:{self.port}", str(workers)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_http(self.url + "/")

    def stop(self):
        self.process.kill()
        self.process.wait()


# ---------------------------------------------------------------- wrk

def parse_duration_ms(text):
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(output):
    result = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+(\S+)", output, re.M)
        result[f"p{percentile}_ms"] = parse_duration_ms(match.group(1)) if match else None
    latency = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", output)
    result["max_ms"] = parse_duration_ms(latency.group(1)) if latency else None
    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    result["errors"] = errors
    replays = re.search(r"replayed requests: (\d+)", output)
    result["replayed"] = int(replays.group(1)) if replays else 0
    return result


def other_load_generators(own_pid):
    """Other wrk processes on the machine: their load would skew ours."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != own_pid:
            try:
                if (entry / "comm").read_text().strip() == "wrk":
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def run_wrk(url, script, connections, duration_s, env_extra):
    """Runs wrk; also reports other wrk processes seen while it ran."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(REPO / "tools/wrk" / script)]
    command.append(url)
    env = dict(os.environ, **env_extra)
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    foreign = set()
    while process.poll() is None:
        foreign |= other_load_generators(process.pid)
        time.sleep(0.5)
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"bench: wrk failed: {stderr}")
    return command, stdout + stderr, sorted(foreign)


# ---------------------------------------------------------------- phases

def signed_webhooks(ids_path, requests_path, secret):
    """Signed payment results, as the provider would send them, for the
    orders the checkout phase created."""
    now = int(time.time())
    count = 0
    with open(ids_path) as ids, open(requests_path, "w") as out:
        for line in ids:
            order_id, session = line.split()
            body = json.dumps({
                "id": f"evt_{session[3:]}_payment.succeeded", "type": "payment.succeeded",
                "session": session, "reference": order_id, "amount_cents": PRICE_B_CENTS,
                "currency": "EUR", "email": "bench@example.com", "created": now,
            }, separators=(",", ":"))
            tag = hmac.new(secret.encode(), f"{now}.{body}".encode(), hashlib.sha256).hexdigest()
            out.write(f"t={now},v1={tag}\t{body}\n")
            count += 1
    return count


def commits(ids_path, requests_path):
    count = 0
    with open(ids_path) as ids, open(requests_path, "w") as out:
        for line in ids:
            order_id, goodie = line.split()
            body = json.dumps({"order_id": order_id, "event": "bench-accounting", "class": "B",
                               "goodie": goodie == "true"}, separators=(",", ":"))
            out.write(f"-\t{body}\n")
            count += 1
    return count


def psql(query):
    completed = subprocess.run(["psql", PG_URL, "-tAc", query], capture_output=True, text=True, check=True)
    return completed.stdout.strip()


def consistency(server, sale_event_id):
    """TigerBeetle's sold tickets of the sale event must equal PostgreSQL's
    PAID tickets, and nothing may be oversold. Waits (bounded) for webhooks
    still in flight when wrk stopped."""
    deadline = time.time() + 30
    while True:
        events = {event["slug"]: event for event in server.events()}
        sale = events["bench-sale"]
        sold = sum(c["sold"] for c in sale["classes"])
        oversold = any(c["sold"] + c["held"] > c["capacity"] for e in events.values() for c in e["classes"])
        paid = int(psql(f"SELECT COALESCE(SUM(quantity), 0) FROM orders "
                        f"WHERE event_id = {sale_event_id} AND status = 'PAID'"))
        if (sold == paid and not oversold) or time.time() > deadline:
            return {"tigerbeetle_sold": sold, "postgres_paid_tickets": paid, "oversold": oversold,
                    "agree": sold == paid and not oversold}
        time.sleep(0.5)


def run_phase(phase, server, minihttp, connections, duration_s, work_dir, secret, delay_ms=None):
    env = {"BENCH_THREADS": "2"}
    if delay_ms is not None:
        env["BENCH_DELAY_MS"] = str(delay_ms)
    url, script = server.url, None
    if phase == "noop-minihttp":
        url = minihttp.url + "/"
    elif phase == "noop":
        url = server.url + "/noop"
    elif phase == "checkout":
        script = "checkout.lua"
        env["BENCH_IDS"] = str(work_dir / f"checkout-{connections}.ids")
    elif phase == "reserve":
        script = "reserve.lua"
        env["BENCH_IDS"] = str(work_dir / f"reserve-{connections}.ids")
    elif phase == "webhook":
        script = "signed.lua"
        env["BENCH_PATH"] = "/payments/webhook"
        env["BENCH_REQUESTS"] = str(work_dir / f"webhook-{connections}.requests")
        count = signed_webhooks(work_dir / f"checkout-{connections}.ids", env["BENCH_REQUESTS"], secret)
        if count == 0:
            return None
    elif phase == "commit":
        script = "signed.lua"
        env["BENCH_PATH"] = "/bench/commit"
        env["BENCH_REQUESTS"] = str(work_dir / f"commit-{connections}.requests")
        if commits(work_dir / f"reserve-{connections}.ids", env["BENCH_REQUESTS"]) == 0:
            return None
    elif phase == "full-flow":
        script = "full_flow.lua"
        env["BENCH_TICKETS"] = str(work_dir / f"full-flow-{connections}.tickets")
    command, output, foreign = run_wrk(url, script, connections, duration_s, env)
    result = parse_wrk(output)
    result["command"] = " ".join(command)
    result["other_load_generators"] = foreign
    result["ops_per_s"] = result["requests_per_s"]
    if phase == "full-flow":
        tickets = int(Path(env["BENCH_TICKETS"]).read_text())
        result["tickets"] = tickets
        result["ops_per_s"] = tickets / duration_s
    return result


def measure(phase, server, minihttp, processes, connections, args, work_dir, secret, sale_event_id, delay_ms=None):
    before_cpu, before = processes.snapshot(), server.metrics()
    started = time.strftime("%H:%M:%S")
    result = run_phase(phase, server, minihttp, connections, args.duration_s, work_dir, secret, delay_ms)
    if result is None:
        return None
    after_cpu, after = processes.snapshot(), server.metrics()
    requests = after["boxoffice_tigerbeetle_requests_total"] - before["boxoffice_tigerbeetle_requests_total"]
    events = after["boxoffice_tigerbeetle_events_total"] - before["boxoffice_tigerbeetle_events_total"]
    result["started"], result["ended"] = started, time.strftime("%H:%M:%S")
    result["tb_requests"] = int(requests)
    result["tb_batch_mean"] = events / requests if requests else 0.0
    result["tb_batch_max"] = int(after["boxoffice_tigerbeetle_batch_events_max"])
    result["cpu_s"] = {name: round(after_cpu[name] - before_cpu.get(name, 0.0), 2) for name in after_cpu}
    result["consistency"] = consistency(server, sale_event_id)
    return result


PACED_PHASES = ["reserve", "checkout", "full-flow"]
PACED_CONNECTIONS = 500


def paced_runs(runs, workers, server, minihttp, processes, args, work_dir, secret, sale_event_id):
    """Latency at half the peak rate: each connection sends one request per
    delay, so the offered rate is fixed (wrk has no rate option; this is its
    delay() hook). Phases without ids handed over only."""
    for phase in PACED_PHASES:
        peaks = [r["ops_per_s"] for r in runs if r["phase"] == phase and r["workers"] == workers and not r.get("paced")]
        if not peaks:
            continue
        # Full flow counts tickets, about 3 requests each (checkout, pay, poll).
        requests_per_op = 3 if phase == "full-flow" else 1
        offered_per_s = max(peaks) / 2 * requests_per_op
        delay_ms = max(1, round(PACED_CONNECTIONS / offered_per_s * 1000))
        log(f"{phase}: paced at half the peak, {workers} workers, {PACED_CONNECTIONS} connections, {delay_ms} ms apart")
        result = measure(phase, server, minihttp, processes, PACED_CONNECTIONS, args, work_dir, secret,
                         sale_event_id, delay_ms)
        result.update(phase=phase, workers=workers, connections=PACED_CONNECTIONS, paced=True,
                      offered_per_s=PACED_CONNECTIONS / delay_ms * 1000 / requests_per_op, peak_ops_per_s=max(peaks))
        runs.append(result)
        log(f"{phase}: paced {result['ops_per_s']:,.0f} ops/s, p99 {result['p99_ms']} ms")


def noop_comparison(workers, server, minihttp, args):
    """Our no-op endpoint against may_minihttp's, alternating run by run so
    that both see the same machine: the spread from run to run here is larger
    than a single pair can settle."""
    pairs = []
    for connections in [int(c) for c in args.connections.split(",")]:
        for repetition in range(args.noop_repetitions):
            pair = {"workers": workers, "connections": connections, "repetition": repetition + 1}
            sides = [("minihttp", minihttp.url + "/", minihttp.process.pid),
                     ("ours", server.url + "/noop", server.process.pid)]
            # Each goes first in every other pair, so that neither always
            # follows the other.
            if repetition % 2:
                sides.reverse()
            for name, url, pid in sides:
                cpu_before_ns = cpu_ns_precise(pid)
                _, output, foreign = run_wrk(url, None, connections, args.noop_duration_s, {})
                parsed = parse_wrk(output)
                pair[name] = parsed["requests_per_s"]
                cpu_ns = cpu_ns_precise(pid) - cpu_before_ns
                pair[f"{name}_cpu_us_per_request"] = cpu_ns / 1000 / max(1, parsed["requests"])
                pair["other_load_generators"] = sorted(set(pair.get("other_load_generators", [])) | set(foreign))
            pairs.append(pair)
            log(f"noop comparison: {workers} workers, {connections} connections: "
                f"ours {pair['ours']:,.0f}, may_minihttp {pair['minihttp']:,.0f}")
    return pairs


def median_interval(values):
    """The median and a distribution-free 95% interval for it: the order
    statistics k and n+1-k, with k the largest such that a fair coin gives
    fewer than k heads in n tosses with probability at most 2.5%."""
    ordered = sorted(values)
    n = len(ordered)
    k, below = 0, 0.0
    while True:
        below_next = below + math.comb(n, k) / 2 ** n
        if below_next > 0.025:
            break
        below, k = below_next, k + 1
    if k == 0:
        return statistics.median(ordered), None, None
    return statistics.median(ordered), ordered[k - 1], ordered[n - k]


def noop_comparison_row(label, group):
    ratios = [p["ours"] / p["minihttp"] for p in group]
    ratio, low, high = median_interval(ratios)
    interval = f"{low:.2f} to {high:.2f}" if low is not None else "too few pairs"
    won = sum(p["ours"] >= p["minihttp"] for p in group)
    cpu_theirs = statistics.median([p["minihttp_cpu_us_per_request"] for p in group])
    cpu_ours = statistics.median([p["ours_cpu_us_per_request"] for p in group])
    cpu_ratio = statistics.median([p["ours_cpu_us_per_request"] / p["minihttp_cpu_us_per_request"] for p in group])
    theirs = statistics.median([p["minihttp"] for p in group])
    ours = statistics.median([p["ours"] for p in group])
    return (f"| {label} | {len(group)} | {theirs:,.0f} | {ours:,.0f} | **{ratio:.3f}** | {interval} | "
            f"{won} of {len(group)} | {cpu_theirs:.2f} | {cpu_ours:.2f} | {cpu_ratio:.3f} |")


def noop_comparison_markdown(pairs, duration_s):
    lines = ["## No-op: ours against may_minihttp", "",
             f"Alternating `wrk -t2 -c<connections> -d{duration_s}s` runs: may_minihttp's no-op handler "
             "(`target/release/noop-minihttp`) and our `GET /noop` on the full server, in pairs, each "
             "side first in every other pair, so that a machine that speeds up or slows down during a "
             "cell shows in both sides of a pair. "
             "The ratio is the median over the pairs of ours / theirs, with a distribution-free 95% "
             "interval for that median (order statistics); 'pairs won' counts pairs where ours answered "
             "more. CPU per request is the server process's CPU time (all threads, from the scheduler's "
             "accounting in /proc/<pid>/task/*/schedstat) over the requests wrk counted; it is less "
             "sensitive than requests/s to how the two cores are shared with wrk. The last row pools "
             "every pair.", "",
             "| workers, conns | pairs | may_minihttp median req/s | ours median req/s | ours / theirs "
             "(median of pairs) | 95% interval | pairs won | may_minihttp CPU µs/request "
             "| ours CPU µs/request | CPU ours / theirs (median of pairs) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    groups = sorted({(p["workers"], p["connections"]) for p in pairs})
    for workers, connections in groups:
        group = [p for p in pairs if p["workers"] == workers and p["connections"] == connections]
        lines.append(noop_comparison_row(f"{workers}, {connections}", group))
    if len(groups) > 1:
        lines.append(noop_comparison_row("all", pairs))
    return lines


# ---------------------------------------------------------------- reports

def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {"host": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(memory_kib / 1024 / 1024, 1), "kernel": platform.release()}


def versions():
    def first_line(command):
        try:
            return subprocess.run(command, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"
    tigerbeetle = Path(os.environ.get("BOXOFFICE_CACHE", Path.home() / ".cache/boxoffice")) / "bin/tigerbeetle-0.16.78"
    return {
        "boxoffice": first_line([str(BINARY), "--version"]),
        "git": first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "tigerbeetle": first_line([str(tigerbeetle), "version"]),
        "postgres": first_line(["psql", "--version"]),
        "redis": first_line(["redis-server", "--version"]),
        "wrk": first_line(["wrk", "--version"]) or "wrk",
        "rustc": first_line(["rustc", "--version"]),
    }


def svg_plot(runs, path):
    """Throughput against connections, one line per phase (2 workers solid,
    1 worker dashed), log scales, the original's figures as reference lines."""
    width, height, left, right, top, bottom = 900, 560, 80, 250, 30, 50
    runs = [run for run in runs if not run.get("paced")]
    connections = sorted({run["connections"] for run in runs})
    values = [run["ops_per_s"] for run in runs if run["ops_per_s"] > 0] + list(THEIRS.values())
    import math
    y_low = 10 ** math.floor(math.log10(min(values)))
    y_high = 10 ** math.ceil(math.log10(max(values)))

    def x_of(c):
        if len(connections) == 1:
            return left + (width - left - right) / 2
        position = (math.log10(c) - math.log10(connections[0])) / (math.log10(connections[-1]) - math.log10(connections[0]))
        return left + position * (width - left - right)

    def y_of(v):
        return top + (1 - (math.log10(v) - math.log10(y_low)) / (math.log10(y_high) - math.log10(y_low))) * (height - top - bottom)

    colours = {"noop-minihttp": "#888", "noop": "#000", "reserve": "#1f77b4", "commit": "#ff7f0e",
               "checkout": "#2ca02c", "webhook": "#d62728", "full-flow": "#9467bd"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14">boxoffice throughput (ops/s; full flow: tickets/s) vs wrk connections; '
             f'wrk on the same cores</text>']
    decade = y_low
    while decade <= y_high:
        y = y_of(decade)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{decade:,.0f}</text>')
        decade *= 10
    for c in connections:
        parts.append(f'<text x="{x_of(c):.1f}" y="{height - bottom + 20}" text-anchor="middle">{c}</text>')
    parts.append(f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">connections</text>')
    legend_y = top + 10
    for phase in PHASES:
        for workers, dash in ((2, ""), (1, ' stroke-dasharray="5,4"')):
            points = sorted((run["connections"], run["ops_per_s"]) for run in runs
                            if run["phase"] == phase and run["workers"] == workers and run["ops_per_s"] > 0)
            if not points:
                continue
            line = " ".join(f"{x_of(c):.1f},{y_of(v):.1f}" for c, v in points)
            parts.append(f'<polyline points="{line}" fill="none" stroke="{colours[phase]}" stroke-width="2"{dash}/>')
        parts.append(f'<line x1="{width - right + 15}" y1="{legend_y}" x2="{width - right + 40}" y2="{legend_y}" '
                     f'stroke="{colours[phase]}" stroke-width="2"/>')
        parts.append(f'<text x="{width - right + 45}" y="{legend_y + 4}">{phase}</text>')
        legend_y += 18
        if phase in THEIRS:
            y = y_of(THEIRS[phase])
            parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{colours[phase]}" '
                         f'stroke-width="1" stroke-dasharray="1,3"/>')
            parts.append(f'<text x="{left + 4}" y="{y - 3:.1f}" fill="{colours[phase]}" font-size="10">'
                         f'TigerFans {phase} {THEIRS[phase]} (theirs, their machine)</text>')
    parts.append(f'<text x="{width - right + 15}" y="{legend_y + 10}">solid: 2 workers</text>')
    parts.append(f'<text x="{width - right + 15}" y="{legend_y + 28}">dashed: 1 worker</text>')
    parts.append(f'<text x="{width - right + 15}" y="{legend_y + 46}">dotted: TigerFans</text>')
    parts.append("</svg>")
    Path(path).write_text("\n".join(parts) + "\n")


def summary_markdown(report):
    lines = [f"# boxoffice TTC benchmark, {report['date']} on {report['machine']['host']}", ""]
    m = report["machine"]
    lines += [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}. "
              "**wrk runs on the same cores as the server, TigerBeetle, PostgreSQL and Redis**: "
              "every figure below shares the machine with its load generator.", ""]
    lines += ["Versions: " + ", ".join(f"{k} `{v}`" for k, v in report["versions"].items()), ""]
    lines += [f"Command: `{report['command']}`; each run `wrk -t2 -c<connections> -d{report['duration_s']}s --latency`.",
              "Ops/s is requests/s, except full flow: PAID tickets/s. \"vs noop\" is the ratio to our no-op "
              "endpoint at the same workers and connections in this run.", ""]
    disturbed = [run for run in report["runs"] if run.get("other_load_generators")]
    if disturbed:
        lines += ["**Disturbed runs** (another wrk ran on the machine meanwhile; marked * below): "
                  + ", ".join(f"{r['phase']} w{r['workers']} c{r['connections']}" for r in disturbed) + ".", ""]
    bad = [run for run in report["runs"] if not run["consistency"]["agree"]]
    if bad:
        lines += ["**VOID: TigerBeetle and PostgreSQL disagree after "
                  + ", ".join(f"{r['phase']} w{r['workers']} c{r['connections']}" for r in bad) + ".**", ""]
    else:
        lines += ["After every run TigerBeetle's sold tickets equalled PostgreSQL's PAID tickets and nothing was oversold.", ""]
    lines += ["| phase | workers | conns | ops/s | vs noop | p50 ms | p90 ms | p99 ms | max ms | errors | TB batch mean | TB batch max (since start) | TB requests | CPU s server / TB / PG / Redis / wrk |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    noop = {(r["workers"], r["connections"]): r["ops_per_s"] for r in report["runs"] if r["phase"] == "noop"}
    for run in [r for r in report["runs"] if not r.get("paced")]:
        ceiling = noop.get((run["workers"], run["connections"]))
        ratio = f"{run['ops_per_s'] / ceiling:.3f}" if ceiling else ""
        cpu = run["cpu_s"]
        fmt = lambda v: "" if v is None else f"{v:.2f}"
        lines.append(
            f"| {run['phase']}{' *' if run.get('other_load_generators') else ''} | {run['workers']} | "
            f"{run['connections']} | {run['ops_per_s']:,.0f} | {ratio} | "
            f"{fmt(run['p50_ms'])} | {fmt(run['p90_ms'])} | {fmt(run['p99_ms'])} | {fmt(run['max_ms'])} | "
            f"{run['errors']}{' (' + str(run['replayed']) + ' replayed)' if run['replayed'] else ''} | "
            f"{run['tb_batch_mean']:.0f} | {run['tb_batch_max']} | {run['tb_requests']} | "
            f"{cpu.get('server', 0)} / {cpu.get('tigerbeetle', 0)} / {cpu.get('postgres', 0)} / {cpu.get('redis', 0)} / {cpu.get('wrk', 0)} |")
    paced = [r for r in report["runs"] if r.get("paced")]
    if paced:
        lines += ["", "## At half the peak rate", "",
                  "Each connection waits a fixed delay before each request (wrk's delay() hook), so the offered "
                  "rate is fixed at half the phase's peak above (reached is lower: each connection's cycle is the delay plus the answer's latency); latency is from send to answer.", "",
                  "| phase | workers | conns | peak ops/s | offered ops/s | reached ops/s | p50 ms | p90 ms | p99 ms | max ms | errors |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for run in paced:
            lines.append(f"| {run['phase']} | {run['workers']} | {run['connections']} | {run['peak_ops_per_s']:,.0f} | "
                         f"{run['offered_per_s']:,.0f} | {run['ops_per_s']:,.0f} | {run['p50_ms']:.2f} | "
                         f"{run['p90_ms']:.2f} | {run['p99_ms']:.2f} | {run['max_ms']:.2f} | {run['errors']} |")
    if report.get("noop_comparison"):
        lines += [""] + noop_comparison_markdown(report["noop_comparison"], report["noop_duration_s"])
    lines += ["", "Peak server RSS (MiB) per worker count: "
              + ", ".join(f"{w} workers: {rss:.0f}" for w, rss in report["peak_rss_mib"].items()), ""]
    best = {}
    for run in report["runs"]:
        if run["phase"] in THEIRS and not run.get("paced"):
            best[run["phase"]] = max(best.get(run["phase"], 0), run["ops_per_s"])
    if best:
        lines += ["## Against the original", "",
                  "| phase | boxoffice best here | TigerFans (theirs, their machine) | ratio |", "|---|---|---|---|"]
        for phase, theirs in THEIRS.items():
            if phase in best:
                lines.append(f"| {phase} | {best[phase]:,.0f} | {theirs} | {best[phase] / theirs:.0f}x |")
    if report.get("oasis"):
        o = report["oasis"]
        lines += ["", "## Oasis run", "",
                  f"{o['tickets']:,} tickets through the full flow in {o['wall_s']:.0f} s wall time "
                  f"({o['tickets'] / o['wall_s']:,.0f} tickets/s; the real sale took about 6 hours), "
                  f"`wrk -t2 -c{o['connections']}`, {o['workers']} workers."]
    lines += ["", "![throughput](throughput.svg)", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- main

def oasis(server, processes, args, work_dir, sale_event_id):
    """1.4 million tickets through the full flow; wall time until PostgreSQL
    holds that many PAID tickets of the event."""
    before = int(psql(f"SELECT COALESCE(SUM(quantity),0) FROM orders WHERE event_id = {sale_event_id} AND status = 'PAID'"))
    target = before + OASIS_TICKETS
    env = dict(os.environ, BENCH_TICKETS=str(work_dir / "oasis.tickets"), BENCH_THREADS="2")
    command = ["wrk", "-t2", f"-c{args.oasis_connections}", "-d3600s", "--timeout", "10s",
               "-s", str(REPO / "tools/wrk/full_flow.lua"), server.url]
    started = time.time()
    wrk = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paid = before
    while paid < target:
        time.sleep(2)
        paid = int(psql(f"SELECT COALESCE(SUM(quantity),0) FROM orders WHERE event_id = {sale_event_id} AND status = 'PAID'"))
        log(f"oasis: {paid - before:,} tickets after {time.time() - started:.0f} s")
        if wrk.poll() is not None:
            raise SystemExit("bench: wrk ended before the Oasis run was done")
    wall_s = time.time() - started
    wrk.send_signal(signal.SIGINT)
    wrk.wait()
    return {"tickets": paid - before, "wall_s": wall_s, "connections": args.oasis_connections,
            "workers": args.oasis_workers}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration-s", type=int, default=int(os.environ.get("BENCH_DURATION_S", 8)))
    parser.add_argument("--connections", default="10,100,1000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--oasis", action="store_true", help="also sell 1.4 million tickets through the full flow")
    parser.add_argument("--oasis-connections", type=int, default=1000)
    parser.add_argument("--oasis-workers", type=int, default=2)
    parser.add_argument("--noop-repetitions", type=int, default=15,
                        help="alternating no-op runs against may_minihttp per connection count (0: none)")
    parser.add_argument("--noop-duration-s", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    date = datetime.date.today().isoformat()
    out = Path(args.out) if args.out else REPO / "results" / f"{date}-{platform.node()}"
    out.mkdir(parents=True, exist_ok=True)
    work_dir = REPO / "target/bench"
    work_dir.mkdir(parents=True, exist_ok=True)
    events_path = work_dir / "events.toml"
    sale_event_id = bench_events(events_path)
    secret = secrets.token_hex(24)
    runs, peak_rss, noop_pairs = [], {}, []
    phases = args.phases.split(",")
    for workers in [int(w) for w in args.workers.split(",")]:
        server = Server(workers, events_path, secret, work_dir / f"server-{workers}.log")
        minihttp = Minihttp(workers)
        processes = Processes(server.process.pid)
        try:
            # A TigerBeetle just started is still warming its caches: a few
            # seconds of reserves first, not recorded.
            run_wrk(server.url, "reserve.lua", 100, 3, {"BENCH_IDS": str(work_dir / "warm-up.ids"), "BENCH_THREADS": "2"})
            for connections in [int(c) for c in args.connections.split(",")]:
                for phase in phases:
                    log(f"{phase}: {workers} workers, {connections} connections")
                    result = measure(phase, server, minihttp, processes, connections, args, work_dir, secret, sale_event_id)
                    if result is None:
                        log(f"{phase}: skipped (no ids from the phase before)")
                        continue
                    result.update(phase=phase, workers=workers, connections=connections)
                    runs.append(result)
                    log(f"{phase}: {result['ops_per_s']:,.0f} ops/s, p99 {result['p99_ms']} ms, "
                        f"batch {result['tb_batch_mean']:.0f}, agree {result['consistency']['agree']}")
            paced_runs(runs, workers, server, minihttp, processes, args, work_dir, secret, sale_event_id)
            noop_pairs += noop_comparison(workers, server, minihttp, args)
            peak_rss[workers] = peak_rss_mib(server.process.pid)
        finally:
            minihttp.stop()
            server.stop()
    report = {"date": date, "machine": machine(), "versions": versions(), "duration_s": args.duration_s,
              "command": "tools/bench " + " ".join(sys.argv[1:]), "runs": runs, "peak_rss_mib": peak_rss,
              "noop_comparison": noop_pairs, "noop_duration_s": args.noop_duration_s}
    if args.oasis:
        server = Server(args.oasis_workers, events_path, secret, work_dir / "server-oasis.log")
        try:
            report["oasis"] = oasis(server, Processes(server.process.pid), args, work_dir, sale_event_id)
            report["oasis"]["consistency"] = consistency(server, sale_event_id)
        finally:
            server.stop()
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    svg_plot(runs, out / "throughput.svg")
    (out / "summary.md").write_text(summary_markdown(report))
    log(f"wrote {out}/summary.md, results.json, throughput.svg")
    if any(not run["consistency"]["agree"] for run in runs):
        raise SystemExit("bench: a run sold wrong: TigerBeetle and PostgreSQL disagree (see summary.md)")


if __name__ == "__main__":
    main()
