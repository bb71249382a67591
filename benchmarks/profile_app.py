"""Profiles of the app from start to "all panes populated" (issue 16's notes).

    # against a running simulator (python -m tui sim --clusters 64 --services 2000 --seed 1
    #   --kubeconfig-out /tmp/big.kubeconfig):
    python benchmarks/profile_app.py --kubeconfig /tmp/big.kubeconfig                 # time + RSS
    python benchmarks/profile_app.py --kubeconfig /tmp/big.kubeconfig --memory        # tracemalloc
    python benchmarks/profile_app.py --kubeconfig /tmp/big.kubeconfig --py-spy OUT.txt

The app runs in a child process exactly as ``app_bench.py``'s "populated" figure takes it
(``app_bench.CHILD``: the real entry point, headless at 160×48). ``--memory`` starts
tracemalloc in the child and, at populated, prints the allocation sites by line (top 25) and
by file, live objects by type and the RSS; ``--py-spy`` runs the child under ``py-spy record``
(every thread, sampled 200 times a second, ``--native`` optional) and prints the samples per
thread and the top 25 functions by own samples ("tottime") of each thread. Samples stop at
populated (the child exits then).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app_bench import CHILD  # noqa: E402

MEMORY = """
import atexit, gc, sys, tracemalloc, collections
tracemalloc.start(1)
def _report():
    snap = tracemalloc.take_snapshot()
    stats = snap.statistics("lineno")
    total = sum(s.size for s in stats)
    print(f"tracemalloc: {total / 2**20:.1f} MiB traced", flush=True)
    for stat in stats[:25]:
        f = stat.traceback[0]
        print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:9,d} blocks  {f.filename}:{f.lineno}")
    print("by file (top 20):")
    for stat in snap.statistics("filename")[:20]:
        f = stat.traceback[0]
        print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:9,d} blocks  {f.filename}")
    counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    print("gc-tracked (not frozen) objects by type (top 15):", counts.most_common(15))
"""


def child_code(memory: bool) -> str:
    code = CHILD
    if memory:
        # the report at populated, before the app quits
        code = MEMORY + code.replace('result["rss_mb"] = rss_mb()', 'result["rss_mb"] = rss_mb(); _report()')
    return code


def run(args: argparse.Namespace) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"TZ": "UTC"}
    argv = ["--kubeconfig", args.kubeconfig]
    started = time.time()
    command = [sys.executable, "-c", child_code(args.memory), repr(started), json.dumps(argv), "180"]
    if args.py_spy:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        raw = args.py_spy + ".raw"
        extra = ["--native"] if args.native else []
        extra += ["--gil"] if args.gil else []
        command = [spy, "record", "--threads", "--rate", "200", "--format", "raw", "-o", raw, *extra,
                   "--", *command]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=400)
    for line in done.stdout.splitlines():
        print(line)
    if done.returncode:
        print(done.stderr[-3000:])
    if args.py_spy:
        summarize(args.py_spy + ".raw", args.py_spy, args.top)


def summarize(raw: str, out: str, top: int) -> None:
    """Per thread: samples, and the functions with the most samples at the top of the stack."""
    threads: collections.Counter[str] = collections.Counter()
    own: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in Path(raw).read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1].rsplit(" ", 1)[0] if frames else "?"
        threads[thread] += count
        own[thread][frames[-1]] += count
        for frame in set(frames[1:]):
            total[thread][frame] += count
    lines = []
    for thread, samples in threads.most_common():
        lines.append(f"thread {thread}: {samples} samples ({samples / 200:.1f} s at 200 Hz)")
        lines.append("  own samples (top of stack):")
        for frame, count in own[thread].most_common(top):
            lines.append(f"    {count:6d} {100 * count / samples:5.1f}%  {frame}")
        lines.append("  inclusive (top 15):")
        for frame, count in total[thread].most_common(15):
            lines.append(f"    {count:6d} {100 * count / samples:5.1f}%  {frame}")
    Path(out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--py-spy", metavar="OUT")
    parser.add_argument("--native", action="store_true")
    parser.add_argument("--gil", action="store_true", help="py-spy: only samples holding the GIL")
    parser.add_argument("--top", type=int, default=25)
    run(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
