"""CPU instructions per request, counted by valgrind's callgrind: the load-independent measure.

Wall-clock ratios on a machine shared with other work move by several percent from run to run;
the number of instructions a request executes does not. Each case runs twice under callgrind,
with no requests and with ``requests`` requests after the same warm-up, and the difference is
divided by ``requests``. After the warm-up the heap is collected and frozen (``gc.freeze()``),
so a full collection during the counted requests walks only what they made, not every module
and function the imports left: otherwise whether a full collection falls inside the counted
window, and what it costs, follows the size of the import graph rather than the request path
(adding a module of 1,000 objects moved the JWT new-token row by 1-2 %). Instructions are not
time (a Redis round trip is a few instructions and a hundred microseconds of waiting), so the
Redis row is only comparable in wall-clock time.

``python -m benchmarks.instructions [--requests N] [NAME ...]``; needs ``valgrind``.
"""

from __future__ import annotations

import argparse
import gc
import re
import shutil
import subprocess
import sys

from .apps import Case, cases

_COLLECTED = re.compile(r"Collected : (\d+)")
WARMUP = 100


def serve(case: Case, requests: int) -> None:
    """What runs under callgrind: the warm-up, then ``requests`` checked requests."""
    client = case.build().test_client(use_cookies=False)
    for index in range(WARMUP + requests):
        if index == WARMUP:
            gc.collect()
            gc.freeze()
        status = (client.get("/tool", headers=case.headers(index)) if case.body is None else
                  client.post(case.path, data=case.body, headers=case.headers(index))
                  ).status_code
        if status != case.status:
            raise SystemExit(f"{case.name}: got {status}, expected {case.status}")


def count(name: str, requests: int, pool: int) -> int:
    """Instructions of one process serving ``requests`` requests of case ``name``.

    ``pool`` tokens are minted either way, so minting cancels out of the difference.
    """
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
               "-m", "benchmarks.instructions", "--serve", name, "--requests", str(requests),
               "--pool", str(pool)]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    match = _COLLECTED.search(finished.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{finished.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions",
                                     description=__doc__)
    parser.add_argument("names", nargs="*", help="case names (default: the otcauth cases)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    pool = args.pool or args.requests + WARMUP
    known = {case.name: case for case in cases(new_tokens=pool)}
    if args.serve is not None:
        serve(known[args.serve], args.requests)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 1
    names = args.names or [case.name for case in known.values()
                           if case.group in ("baseline", "otcauth")]
    per_request = {name: (count(name, args.requests, pool) - count(name, 0, pool))
                   / args.requests for name in names}
    base = per_request.get("bare Flask")
    print("| configuration | instructions/request | x bare Flask |")
    print("|---|---:|---:|")
    for name, instructions in per_request.items():
        ratio = f"{instructions / base:.3f}" if base else ""
        print(f"| {name} | {instructions:,.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
