#!/usr/bin/env python3
"""The reference benchmark: laketidy against its peers on ../shared/bench's workload.

    scripts/bench.sh [--profile bench|small|ci] [--runs 3] [--peers duckdb[,copy-duckdb,polars,spark]]

Builds nothing itself (scripts/bench.sh builds the release binary first). Generates
the raw lake once per profile, then runs laketidy and each peer alternately (A B A B
...), each into a fresh output folder, with every core. Each output is checked with
check_lake.py. Prints the medians of wall time and peak RSS and the ratios to
laketidy, as a Markdown table ready for BENCHMARKS.md.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFINITION = {
    "name": "events",
    "source": "../raw",
    "target": "out",
    "partition_by": [
        {"name": "dt", "from": "event_time", "transform": "day"},
        {"name": "hour", "from": "event_time", "transform": "hour"},
    ],
    "sort_by": ["user_id", "event_time"],
    "dedup": {"key": ["event_id"], "keep": "latest", "order_by": "received_at"},
    "target_file_size": "128MiB",
    "compression": "zstd(3)",
}


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS bytes)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    wall, rss_kib = out.stderr.strip().splitlines()[-1].split()
    return float(wall), int(rss_kib) * 1024


def check(bench, out_dir, raw, files=None):
    cmd = [sys.executable, os.path.join(bench, "check_lake.py"), out_dir, "--expected", os.path.join(raw, "_expected.json"),
           "--sorted-by", "user_id,event_time"]
    if files:
        cmd += ["--files", files]
    done = subprocess.run(cmd, capture_output=True, text=True)
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode != 0:
        sys.exit(f"check_lake failed for {out_dir}:\n{done.stdout}")
    return last


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", default=os.path.join(REPO, "..", "shared", "bench"))
    ap.add_argument("--profile", default="bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peers", default="duckdb")
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "laketidy"))
    ap.add_argument("--work", default=os.path.join(REPO, ".work", "bench"))
    a = ap.parse_args()
    bench = os.path.abspath(a.bench_dir)
    work = os.path.join(a.work, a.profile)
    raw = os.path.join(work, "raw")
    if not os.path.exists(os.path.join(raw, "_expected.json")):
        shutil.rmtree(raw, ignore_errors=True)
        print(f"generating the {a.profile} lake ...", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(bench, "gen_lake.py"), raw, "--profile", a.profile], check=True,
                       stdout=subprocess.DEVNULL)
    raw_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(raw) for f in fs if f.endswith(".parquet"))
    tools = ["laketidy", *[p for p in a.peers.split(",") if p]]
    results = {t: [] for t in tools}
    for run in range(a.runs):
        for tool in tools:
            out = os.path.join(work, f"out-{tool}")
            shutil.rmtree(out, ignore_errors=True)
            if tool == "laketidy":
                os.makedirs(out)
                definition = os.path.join(out, "events.json")
                with open(definition, "w") as fh:
                    json.dump(dict(DEFINITION, source=raw, target=os.path.join(out, "lake")), fh)
                wall, rss = timed([a.binary, "compact", definition, "--no-progress", "-q"])
                files = os.path.join(out, "live.txt")
                with open(files, "w") as fh:
                    subprocess.run([a.binary, "files", definition], stdout=fh, check=True)
                verdict = check(bench, os.path.join(out, "lake"), raw, files)
            else:
                wall, rss = timed([sys.executable, os.path.join(bench, "peers.py"), tool, raw, out])
                verdict = check(bench, out, raw) if tool != "copy-duckdb" else "floor: not checked"
            results[tool].append((wall, rss))
            print(f"run {run + 1} {tool:12} {wall:7.1f} s {rss / 2**30:6.2f} GiB  {verdict}", file=sys.stderr)
    base = statistics.median(w for w, _ in results["laketidy"])
    print(f"\n{a.profile} profile: {raw_bytes / 1e6:.0f} MB of raw Parquet; {a.runs} runs each, alternating; "
          f"{os.cpu_count()} cores, {platform.machine()}\n")
    print("| tool | median wall | median peak RSS | laketidy / tool |")
    print("|---|---|---|---|")
    for tool in tools:
        wall = statistics.median(w for w, _ in results[tool])
        rss = statistics.median(r for _, r in results[tool])
        print(f"| {tool} | {wall:.1f} s | {rss / 2**30:.2f} GiB | {base / wall:.2f}x |")


if __name__ == "__main__":
    main()
