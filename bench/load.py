"""Benchmark: the morning rush, open loop, against two `doorstep serve` replicas on PostgreSQL.

Phones do not wait for each other: they arrive. Requests are sent at fixed rates for a while
each (`--duration`, 20 s by default), balanced round-robin over two replicas, and each latency is
measured from the moment the request was *due*, not from when it could be sent: a request that
waits for a free connection, or behind a slow one, counts that wait (no coordinated omission).

Measured in one run, on this machine (the load generator shares its two cores):
- full pulls of 40-case visit lists (the first sync of a phone's day) at rising rates, and the
  rate at which p99 passes 50 ms: the knee;
- the morning mix (60 % full pulls, 30 % incremental pulls, 10 % pushes of 20 events) at rising
  rates, and its knee;
- the same for the bare framework serving a prebuilt body of a full pull's size from two
  processes: the ceiling. The ratio of the knees is the headline figure;
- the CPU one full pull costs the service, PostgreSQL and the load generator.

Each request comes from the next of `--workers` phones (200 by default, each its own worker with a
40-case list): as in a municipality's morning, few requests of one phone overlap, so they do not
queue on one device's row as a handful of phones sending everything would.

    .venv/bin/python bench/load.py [--pg URL] [--duration 20] [--rates 25,50,75,100,125] [--workers 200]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench")]

import httpx  # noqa: E402

from bench.sync import FRAMEWORK_APP, _cursor_from_db, cases_by_worker, cpu_seconds, enroll, free_port, prepare, start  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/doorstep_bench_load"
SLO_MS = 50.0
PUSH_EVENTS = 20
MIX = (("full", 0.6), ("incremental", 0.3), ("push", 0.1))


@dataclass
class Step:
    """What one rate gave: latencies from each request's due time, and failures."""

    rate: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def quantile(self, q: float, values: Sequence[float] | None = None) -> float:
        ordered = sorted(self.latencies if values is None else values)
        if not ordered:
            return math.nan
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000

    @property
    def p50(self) -> float:
        return self.quantile(0.50)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)

    @property
    def within_slo(self) -> bool:
        return self.errors == 0 and self.p99 <= SLO_MS


Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def open_loop(
    bases: Sequence[str],
    rate: float,
    duration: float,
    pick: Callable[[int], tuple[str, Request]],
    *,
    connections: int = 64,
) -> Step:
    """Send `rate` requests per second for `duration` seconds, the n-th due at start + n / rate,
    round-robin over `bases`; each latency runs from its due time to the end of its answer."""
    step = Step(rate)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    clients = [httpx.AsyncClient(base_url=base, limits=limits, timeout=30) for base in bases]
    total = int(rate * duration)
    loop = asyncio.get_running_loop()

    async def one(n: int, due: float) -> None:
        kind, request = pick(n)
        try:
            response = await request(clients[n % len(clients)], n)
            failed = response.status_code >= 400
        except httpx.HTTPError:
            failed = True
        elapsed = loop.time() - due
        if failed:
            step.errors += 1
        step.latencies.append(elapsed)
        step.by_kind.setdefault(kind, []).append(elapsed)

    # Warm the connections first: a replica's first requests open connections to PostgreSQL.
    await asyncio.gather(*(client.get("/healthz") for client in clients))
    started = loop.time() + 0.05
    tasks = []
    for n in range(total):
        due = started + n / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    for client in clients:
        await client.aclose()
    return step


@dataclass
class Phone:
    device_id: str
    headers: dict[str, str]
    case_ids: list[str]


def sync_requests(phones: Sequence[Phone], cursor: str) -> dict[str, Request]:
    """The three requests of a morning, each for the n-th phone in turn."""

    async def full(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get("/v1/sync/pull", headers=phones[n % len(phones)].headers)

    async def incremental(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get("/v1/sync/pull", headers=phones[n % len(phones)].headers, params={"cursor": cursor})

    async def push(client: httpx.AsyncClient, n: int) -> httpx.Response:
        phone = phones[n % len(phones)]
        now = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "case_id": phone.case_ids[(n + i) % len(phone.case_ids)],
                "kind": "card_left",
                "occurred_at": now,
                "base_version": 1,
                "payload": {},
            }
            for i in range(PUSH_EVENTS)
        ]
        return await client.post(
            "/v1/sync/push", headers=phone.headers, json={"device_id": phone.device_id, "events": events}
        )

    return {"full": full, "incremental": incremental, "push": push}


def mixed(requests: dict[str, Request]) -> Callable[[int], tuple[str, Request]]:
    """The n-th request of the morning mix: a fixed, interleaved pattern of 60/30/10 per 10."""
    pattern = list(itertools.chain.from_iterable([kind] * round(share * 10) for kind, share in MIX))
    order = [pattern[(i * 7) % len(pattern)] for i in range(len(pattern))]  # spread the pushes out
    return lambda n: (order[n % len(order)], requests[order[n % len(order)]])


def ramp(
    bases: Sequence[str],
    rates: Sequence[float],
    duration: float,
    pick: Callable[[int], tuple[str, Request]],
    label: str,
    server_pids: Sequence[int] = (),
) -> list[Step]:
    """Each rate in turn, printed as it finishes; stops two rates past the first one over the SLO
    (a saturated service only queues further)."""
    steps: list[Step] = []
    over = 0
    for rate in rates:
        step = asyncio.run(open_loop(bases, rate, duration, pick))
        steps.append(step)
        kinds = "  ".join(
            f"{kind} p99 {step.quantile(0.99, values):6.1f}" for kind, values in sorted(step.by_kind.items())
        )
        print(
            f"  {label:<10} {rate:>6.0f}/s  p50 {step.p50:7.1f} ms  p99 {step.p99:8.1f} ms  errors {step.errors:>4}"
            + (f"   ({kinds})" if len(step.by_kind) > 1 else ""),
            flush=True,
        )
        if not step.within_slo:
            over += 1
            if over >= 2:
                break
    return steps


def knee(steps: Sequence[Step]) -> float:
    """The highest rate held within the SLO before the first rate that was not (0: none held)."""
    held = 0.0
    for step in steps:
        if not step.within_slo:
            break
        held = step.rate
    return held


def rates_of(text: str) -> list[float]:
    return [float(value) for value in text.split(",") if value.strip()]


def replicas(env: dict[str, str], count: int = 2) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    processes, bases = [], []
    for _ in range(count):
        port = free_port()
        processes.append(start([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env, port))
        bases.append(f"http://127.0.0.1:{port}")
    return processes, bases


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()


def settle(processes: Sequence[subprocess.Popen[bytes]], *, quiet_ms: float = 20.0, longest: float = 120.0) -> None:
    """Wait until the replicas stop working off a backlog (an overloaded step leaves requests that
    the generator gave up on still running): until they use under `quiet_ms` of CPU in 0.5 s."""
    deadline = time.monotonic() + longest
    before = sum(cpu_seconds(process)[0] for process in processes)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(cpu_seconds(process)[0] for process in processes)
        if (now - before) * 1000 < quiet_ms:
            return
        before = now


def pull_cpu(
    bases: Sequence[str], phones: Sequence[Phone], processes: Sequence[subprocess.Popen[bytes]], count: int = 400
) -> tuple[float, float, float]:
    """CPU milliseconds one full pull costs the service, PostgreSQL and the load generator, from
    `count` pulls sent one after another (no queueing to muddy it), once the replicas are idle."""
    settle(processes)
    before = [cpu_seconds(process) for process in processes]
    generator_before = cpu_seconds(None)
    with httpx.Client(timeout=30) as client:
        for n in range(count):
            phone = phones[n % len(phones)]
            client.get(f"{bases[n % len(bases)]}/v1/sync/pull", headers=phone.headers).raise_for_status()
    after = [cpu_seconds(process) for process in processes]
    generator_after = cpu_seconds(None)
    service = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
    database = generator_after[1] - generator_before[1]
    generator = generator_after[2] - generator_before[2]
    return service * 1000 / count, database * 1000 / count, generator * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default=PG_DEFAULT)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per rate (the issue asks ≥ 20)")
    parser.add_argument("--rates", default="25,50,75,100,125,150", help="full pulls per second, in turn")
    parser.add_argument("--mixed-rates", default="50,100,150,200", help="requests per second of the mix, in turn")
    parser.add_argument("--framework-rates", default="100,200,300,400,500,600,800")
    parser.add_argument("--history-events", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=200, help="phones, each its own worker with 40 cases")
    args = parser.parse_args()

    print(
        f"preparing {args.pg} ({args.workers} workers with 40 cases each, {args.history_events:,} earlier events)",
        flush=True,
    )
    env = prepare(args.pg, history_events=args.history_events, workers=args.workers)
    processes, bases = replicas(env)
    try:
        phones = []
        cases = cases_by_worker(args.pg)
        for number in range(args.workers):
            device_id, token = enroll(bases[number % 2], number)
            phones.append(Phone(device_id, {"Authorization": f"Bearer {token}"}, cases[f"bench-worker-{number}"]))
        body_bytes = len(httpx.get(f"{bases[0]}/v1/sync/pull", headers=phones[0].headers).content)
        requests = sync_requests(phones, _cursor_from_db(args.pg))
        print(f"full pull: {body_bytes:,} bytes; open loop, {args.duration:.0f} s per rate, two replicas", flush=True)
        full_steps = ramp(bases, rates_of(args.rates), args.duration, lambda n: ("full", requests["full"]), "full pull")
        mixed_steps = ramp(bases, rates_of(args.mixed_rates), args.duration, mixed(requests), "mixed")
        cpu = pull_cpu(bases, phones, processes)
    finally:
        stop(processes)

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "framework_app.py").write_text(FRAMEWORK_APP)
        framework, framework_bases = [], []
        for _ in range(2):
            port = free_port()
            framework.append(
                start(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "framework_app:app",
                        "--port",
                        str(port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                        "--app-dir",
                        tmp,
                    ],
                    {**env, "BENCH_BODY_BYTES": str(body_bytes)},
                    port,
                )
            )
            framework_bases.append(f"http://127.0.0.1:{port}")
        try:

            async def body(client: httpx.AsyncClient, n: int) -> httpx.Response:
                return await client.get("/body")

            framework_steps = ramp(
                framework_bases, rates_of(args.framework_rates), args.duration, lambda n: ("body", body), "framework"
            )
        finally:
            stop(framework)

    full_knee, mixed_knee, framework_knee = knee(full_steps), knee(mixed_steps), knee(framework_steps)
    at = {step.rate: step for step in full_steps}
    mixed_at = {step.rate: step for step in mixed_steps}
    print()
    print(
        f"knee (highest rate with p99 ≤ {SLO_MS:.0f} ms and no errors), two replicas, {args.duration:.0f} s per rate:"
    )
    print(
        f"  full pulls   {full_knee:>6.0f}/s   bare framework {framework_knee:>6.0f}/s   "
        f"ratio {full_knee / framework_knee if framework_knee else math.nan:.2f}"
    )
    print(f"  mixed        {mixed_knee:>6.0f}/s")
    if 100 in at:
        print(
            f"  target: 100 full pulls/s at p99 ≤ 50 ms: p99 {at[100].p99:.1f} ms, errors {at[100].errors} "
            f"({'met' if at[100].within_slo else 'not met'})"
        )
    if 150 in mixed_at:
        print(
            f"  target: mixed 150/s at p99 ≤ 50 ms: p99 {mixed_at[150].p99:.1f} ms, errors {mixed_at[150].errors} "
            f"({'met' if mixed_at[150].within_slo else 'not met'})"
        )
    print("CPU per full pull: service {:.1f} ms, PostgreSQL {:.1f} ms, load generator {:.1f} ms".format(*cpu))
    print(
        json.dumps(
            {
                "full_knee": full_knee,
                "mixed_knee": mixed_knee,
                "framework_knee": framework_knee,
                "cpu_ms": cpu,
                "body_bytes": body_bytes,
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
