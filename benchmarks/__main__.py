"""``python -m benchmarks``: the table of docs/performance.md; ``--smoke`` for CI (seconds)."""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime, timezone

from flask_otcauth.core.cache import MAX_ENTRIES

from . import measure, server
from .apps import cases

# Issue 6's targets, as ratios against bare Flask; a row named in REJECTS must cost no more than
# the row it names (accepting a valid credential of the same kind), each net of what bare Flask
# pays to receive the same headers (TRANSPORT): an 8 KiB header costs Werkzeug more to parse
# than any check of it, whoever checks it.
TARGETS = {
    "API key": 1.05,
    "JWT, reused token": 1.10,
    "JWT, new token each request": 1.45,
    "JWT + both limits, memory": 1.30,
    "JWT + both limits, Redis": 1.70,
}
REJECTS = {
    "reject: 8 KiB junk token": "JWT, new token each request",
    "reject: random 60-byte key": "API key",
}
TRANSPORT = {"reject: 8 KiB junk token": "bare Flask, same 8 KiB header"}
WRK_TARGET = 0.75


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true",
                        help="a few hundred requests per case, one round, no wrk: proves the "
                             "benchmark works, measures nothing worth quoting")
    # 100,000 requests per case, as 5 x 20,000, but in short rounds: on a shared machine a
    # burst of load lasts seconds, and a short round pairs each case with bare Flask timed
    # moments apart.
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2_000, help="requests per case per round")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    parser.add_argument("--no-wrk", action="store_true", help="skip the real-server run")
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--wrk-rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds, args.requests, args.no_wrk = 1, 300, True

    print(f"# flask-otcauth benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    for name, value in measure.machine().items():
        print(f"- {name}: {value}")
    print(f"- load average before: {measure.load()}")
    print(f"- {args.rounds} interleaved round(s) x {args.requests} requests per case, "
          "Flask test client, one thread\n")

    runnable = []
    # More distinct tokens than the verified-token cache holds, sent in turn: each is a miss.
    for case in cases(new_tokens=max(args.requests, 2 * MAX_ENTRIES)):
        if args.only and args.only not in case.name and case.group != "baseline":
            continue
        reason = measure.available(case)
        if reason is None:
            runnable.append(case)
        else:
            print(f"skipped {case.name}: {reason}")
    results = measure.run(runnable, rounds=args.rounds, requests=args.requests,
                          warmup=min(200, args.requests))
    print_table(results)
    print(f"\n- load average after: {measure.load()}")

    if not args.no_wrk:
        reason = server.available()
        if reason is not None:
            print(f"\nreal-server run skipped: {reason}")
        else:
            print_wrk(server.run(seconds=args.wrk_seconds, connections=32,
                                 rounds=args.wrk_rounds))
            print(f"- load average after wrk: {measure.load()}")
    return 0


def print_table(results: list[measure.Result]) -> None:
    by_name = {result.case.name: result for result in results}
    bare = results[0]
    print("| configuration | us/request (median) | min | max | x bare Flask | target |")
    print("|---|---:|---:|---:|---:|---|")
    for result in results:
        name = result.case.name
        print(f"| {name} | {result.median * 1e6:.1f} | {min(result.per_request) * 1e6:.1f} | "
              f"{max(result.per_request) * 1e6:.1f} | {paired(result, bare):.2f} | "
              f"{verdict(name, by_name)} |")


def paired(result: measure.Result, base: measure.Result,
           received: measure.Result | None = None) -> float:
    """The median over rounds of ``result``'s time (less ``received``'s) over ``base``'s in
    the same round: a burst of load on the machine moves both sides of each ratio alike."""
    return statistics.median(
        (time - (received.per_request[index] if received is not None else 0.0))
        / base.per_request[index] for index, time in enumerate(result.per_request))


def verdict(name: str, by_name: dict[str, measure.Result]) -> str:
    bare = by_name["bare Flask"]
    if name in TARGETS:
        target = TARGETS[name]
        met = paired(by_name[name], bare) <= target
        return f"<= {target:.2f} {'met' if met else 'MISSED'}"
    if name in REJECTS and REJECTS[name] in by_name:
        other = REJECTS[name]
        refusing = paired(by_name[name], bare, by_name.get(TRANSPORT.get(name, ""), bare))
        accepting = paired(by_name[other], bare, bare)
        met = refusing <= accepting
        return (f"net {refusing:+.2f} <= {other} net {accepting:+.2f} "
                f"{'met' if met else 'MISSED'}")
    return ""


def print_wrk(rounds: list[list[server.WrkResult]]) -> None:
    print("\n## Real server: gunicorn, 2 sync workers, wrk 32 connections, loopback\n")
    print("| app | requests/s per round | x bare |")
    print("|---|---|---:|")
    bare = [result.requests_per_second for one in rounds for result in one
            if result.name == "bare"]
    base = sorted(bare)[len(bare) // 2]
    for index, first in enumerate(rounds[0]):
        rates = [one[index].requests_per_second for one in rounds]
        median = sorted(rates)[len(rates) // 2]
        note = ""
        if first.name == "otcauth-jwt-limits":
            met = median / base >= WRK_TARGET
            note = f" (target >= {WRK_TARGET}: {'met' if met else 'MISSED'})"
        print(f"| {first.name} | {', '.join(f'{rate:.0f}' for rate in rates)} | "
              f"{median / base:.2f}{note} |")


if __name__ == "__main__":
    sys.exit(main())
