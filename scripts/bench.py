#!/usr/bin/env python3
"""The reference benchmark: laketidy against its peers on ../shared/bench's workload.

    scripts/bench.sh [--profile bench|small|ci] [--runs 3] [--peers duckdb[,copy-duckdb,polars,spark]]
    scripts/bench.sh --mode scaling [--profile bench] [--runs 3]
    scripts/bench.sh --mode incremental [--profile bench] [--runs 3]
    scripts/bench.sh --mode steady [--profile bench] [--hours 8]
    (any mode: --args '--memory-limit 512MiB' passes arguments to laketidy compact)

--mode scaling compacts the profile's lake and one with twice the rows (same
hours, same file size), alternately, and prints the ratios of wall time and peak
RSS. --mode incremental compacts every arrival hour but the last, then times
adding the last one (each run from a copy of that state) against full
compactions of the whole lake, alternately, and prints the ratio. --mode steady
compacts every arrival hour but the last --hours, then adds those one at a time
(so that delta files pile up and get merged), timing each run against one full
compaction, and checks the final lake.

Builds nothing itself (scripts/bench.sh builds the release binary first). Generates
the raw lake once per profile, then runs laketidy and each peer alternately (A B A B
...), each into a fresh output folder, with every core. Each output is checked with
check_lake.py. Prints the medians of wall time and peak RSS and the ratios to
laketidy, as a Markdown table ready for BENCHMARKS.md.
"""
import argparse
import collections
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


Timing = collections.namedtuple("Timing", "wall rss cpu")


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time: wall seconds, peak RSS bytes, and CPU seconds
    (user + system; on a VM whose speed drifts, wall time alone cannot tell a
    slower program from a slower host)."""
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M %U %S", *cmd], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    wall, rss_kib, user, system = out.stderr.strip().splitlines()[-1].split()
    return Timing(float(wall), int(rss_kib) * 1024, float(user) + float(system))


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


def ensure_raw(bench, raw, profile, rows=None):
    """Generates the raw lake once (rows: override the profile's total)."""
    if os.path.exists(os.path.join(raw, "_expected.json")):
        return
    shutil.rmtree(raw, ignore_errors=True)
    print(f"generating the {profile} lake{f' with {rows} rows' if rows else ''} ...", file=sys.stderr)
    cmd = [sys.executable, os.path.join(bench, "gen_lake.py"), raw, "--profile", profile]
    if rows:
        cmd += ["--rows", str(rows)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def raw_size(raw):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(raw) for f in fs if f.endswith(".parquet"))


EXTRA_ARGS = []


def write_definition(out, raw):
    """The reference definition for compacting raw into out/lake, written as out/events.json."""
    os.makedirs(out, exist_ok=True)
    definition = os.path.join(out, "events.json")
    with open(definition, "w") as fh:
        json.dump(dict(DEFINITION, source=raw, target=os.path.join(out, "lake")), fh)
    return definition


def check_live(binary, bench, definition, out, expected_raw):
    """Checks the live files of out/lake against expected_raw's _expected.json."""
    files = os.path.join(out, "live.txt")
    with open(files, "w") as fh:
        subprocess.run([binary, "files", definition], stdout=fh, check=True)
    return check(bench, os.path.join(out, "lake"), expected_raw, files)


def arrival_hours(raw):
    """The raw lake's arrival-hour folders, oldest first."""
    return sorted(os.path.relpath(d, raw) for d, _, fs in os.walk(raw) if any(f.endswith(".parquet") for f in fs))


def compact(binary, bench, raw, out, expected_raw=None, fresh=True):
    """Compacts raw into out/lake with laketidy; checks the result against expected_raw's
    _expected.json (default raw's). Returns (Timing, verdict)."""
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    definition = write_definition(out, raw)
    timing = timed([binary, "compact", definition, "--no-progress", "-q", *EXTRA_ARGS])
    return timing, check_live(binary, bench, definition, out, expected_raw or raw)


def header(a, raw):
    print(f"\n{a.profile} profile: {raw_size(raw) / 1e6:.0f} MB of raw Parquet; {a.runs} runs each, alternating; "
          f"{os.cpu_count()} cores, {platform.machine()}\n")


def peers(a, bench, work, raw):
    tools = ["laketidy", *[p for p in a.peers.split(",") if p]]
    results = {t: [] for t in tools}
    for run in range(a.runs):
        for tool in tools:
            out = os.path.join(work, f"out-{tool}")
            if tool == "laketidy":
                (wall, rss, _), verdict = compact(a.binary, bench, raw, out)
            else:
                shutil.rmtree(out, ignore_errors=True)
                wall, rss, _ = timed([sys.executable, os.path.join(bench, "peers.py"), tool, raw, out])
                verdict = check(bench, out, raw) if tool != "copy-duckdb" else "floor: not checked"
            results[tool].append((wall, rss))
            print(f"run {run + 1} {tool:12} {wall:7.1f} s {rss / 2**30:6.2f} GiB  {verdict}", file=sys.stderr)
    base = statistics.median(w for w, _ in results["laketidy"])
    header(a, raw)
    print("| tool | median wall | median peak RSS | laketidy / tool |")
    print("|---|---|---|---|")
    for tool in tools:
        wall = statistics.median(w for w, _ in results[tool])
        rss = statistics.median(r for _, r in results[tool])
        print(f"| {tool} | {wall:.1f} s | {rss / 2**30:.2f} GiB | {base / wall:.2f}x |")


def scaling(a, bench, work, raw):
    sys.path.insert(0, bench)
    import gen_lake
    rows = 2 * gen_lake.PROFILES[a.profile][0]
    raw2 = os.path.join(a.work, f"{a.profile}-x2", "raw")
    ensure_raw(bench, raw2, a.profile, rows)
    results = {"1x": [], "2x": []}
    for run in range(a.runs):
        for name, source in (("1x", raw), ("2x", raw2)):
            timing, verdict = compact(a.binary, bench, source, os.path.join(work, f"out-scaling-{name}"))
            results[name].append(timing)
            print(f"run {run + 1} {name} {timing.wall:7.1f} s {timing.rss / 2**30:6.2f} GiB  {timing.cpu:7.1f} s CPU  "
                  f"{verdict}", file=sys.stderr)
    header(a, raw)
    print("| rows | median wall | median CPU (user + system) | median peak RSS |")
    print("|---|---|---|---|")
    med = {}
    for name, source in (("1x", raw), ("2x", raw2)):
        med[name] = Timing(*(statistics.median(t[i] for t in results[name]) for i in range(3)))
        rows_delivered = json.load(open(os.path.join(source, "_expected.json")))["raw_rows"]
        print(f"| {rows_delivered:,} | {med[name].wall:.1f} s | {med[name].cpu:.1f} s | {med[name].rss / 2**30:.2f} GiB |")
    # each 2x run against the 1x run just before it: drift slower than a pair cancels
    pairs = sorted(two.wall / one.wall for one, two in zip(results["1x"], results["2x"]))
    one, two = med["1x"], med["2x"]
    print(f"\ntwice the rows: {two.wall / one.wall:.2f}x the time, {two.cpu / one.cpu:.2f}x the CPU time, "
          f"{two.rss / one.rss:.2f}x the peak RSS; pair by pair {pairs[0]:.2f}x to {pairs[-1]:.2f}x the time "
          f"(median {statistics.median(pairs):.2f}x)")


def link_tree(src, dst):
    """A copy of src at dst whose files are hard links (the raw lake is never written)."""
    shutil.copytree(src, dst, copy_function=os.link)


def incremental(a, bench, work, raw):
    arrivals = arrival_hours(raw)
    last = arrivals[-1]
    inc = os.path.join(work, "incremental")
    shutil.rmtree(inc, ignore_errors=True)
    link_tree(raw, os.path.join(inc, "raw"))
    held = os.path.join(inc, "held")
    shutil.move(os.path.join(inc, "raw", last), held)
    # the state every incremental run starts from: all arrival hours but the last,
    # compacted where the runs will find it (the manifest knows its target)
    out = os.path.join(inc, "run")
    definition = write_definition(out, os.path.join(inc, "raw"))
    wall = timed([a.binary, "compact", definition, "--no-progress", "-q", *EXTRA_ARGS]).wall
    shutil.move(out, os.path.join(inc, "base"))
    print(f"compacted {len(arrivals) - 1} arrival hours in {wall:.1f} s; adding {last}", file=sys.stderr)
    link_tree(held, os.path.join(inc, "raw", last))
    results = {"full": [], "incremental": []}
    for run in range(a.runs):
        (wall, rss, _), verdict = compact(a.binary, bench, raw, os.path.join(work, "out-full"))
        results["full"].append((wall, rss))
        print(f"run {run + 1} full        {wall:7.1f} s {rss / 2**30:6.2f} GiB  {verdict}", file=sys.stderr)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(os.path.join(inc, "base"), out)
        (wall, rss, _), verdict = compact(a.binary, bench, os.path.join(inc, "raw"), out, expected_raw=raw, fresh=False)
        results["incremental"].append((wall, rss))
        print(f"run {run + 1} incremental {wall:7.1f} s {rss / 2**30:6.2f} GiB  {verdict}", file=sys.stderr)
    header(a, raw)
    print("| run | median wall | median peak RSS |")
    print("|---|---|---|")
    med = {}
    for name in results:
        med[name] = statistics.median(w for w, _ in results[name])
        rss = statistics.median(r for _, r in results[name])
        print(f"| {name} | {med[name]:.1f} s | {rss / 2**30:.2f} GiB |")
    print(f"\nadding arrival hour {last}: {med['incremental'] / med['full']:.0%} of a full compaction")


def steady(a, bench, work, raw):
    arrivals = arrival_hours(raw)
    held_back = arrivals[-a.hours:]
    (full_wall, full_rss, _), verdict = compact(a.binary, bench, raw, os.path.join(work, "out-full"))
    print(f"full        {full_wall:7.1f} s {full_rss / 2**30:6.2f} GiB  {verdict}", file=sys.stderr)
    root = os.path.join(work, "steady")
    shutil.rmtree(root, ignore_errors=True)
    link_tree(raw, os.path.join(root, "raw"))
    def move(hour, src, dst):
        os.makedirs(os.path.dirname(os.path.join(root, dst, hour)), exist_ok=True)
        shutil.move(os.path.join(root, src, hour), os.path.join(root, dst, hour))

    for hour in held_back:
        move(hour, "raw", "held")
    out = os.path.join(root, "run")
    definition = write_definition(out, os.path.join(root, "raw"))
    wall = timed([a.binary, "compact", definition, "--no-progress", "-q", *EXTRA_ARGS]).wall
    print(f"compacted {len(arrivals) - a.hours} arrival hours in {wall:.1f} s", file=sys.stderr)
    print(f"\n{a.profile} profile: {raw_size(raw) / 1e6:.0f} MB of raw Parquet; one full run, then {a.hours} "
          f"arrival hours added one at a time; {os.cpu_count()} cores, {platform.machine()}\n")
    print("| hour added | wall | of a full run | patched | deltas merged | row groups copied / re-encoded |")
    print("|---|---|---|---|---|---|")
    walls = []
    for hour in held_back:
        move(hour, "held", "raw")
        report = os.path.join(root, "report.json")
        with open(report, "w") as fh:
            started = subprocess.run(["/usr/bin/time", "-f", "%e", a.binary, "compact", definition, "--no-progress",
                                      "--output", "json", *EXTRA_ARGS], stdout=fh, stderr=subprocess.PIPE, text=True)
        if started.returncode != 0:
            sys.exit(f"compact failed adding {hour}:\n{started.stderr}")
        wall = float(started.stderr.strip().splitlines()[-1])
        walls.append(wall)
        with open(report) as fh:
            m = json.load(fh)["metrics"]
        print(f"| {hour} | {wall:.2f} s | {wall / full_wall:.0%} | {m['partitions_patched']} | "
              f"{m['partitions_deltas_merged']} | {m['row_groups_copied']} / {m['row_groups_reencoded']} |")
    verdict = check_live(a.binary, bench, definition, out, raw)
    print(f"\nfull run {full_wall:.1f} s; one hour at a time: median {statistics.median(walls):.2f} s "
          f"({statistics.median(walls) / full_wall:.0%}); final lake {verdict}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench-dir", default=os.path.join(REPO, "..", "shared", "bench"))
    ap.add_argument("--profile", default="bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peers", default="duckdb")
    ap.add_argument("--mode", choices=["peers", "scaling", "incremental", "steady"], default="peers")
    ap.add_argument("--hours", type=int, default=8, help="--mode steady: arrival hours added one at a time")
    ap.add_argument("--args", default="", help="extra arguments for laketidy compact, e.g. '--memory-limit 512MiB'")
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "laketidy"))
    ap.add_argument("--work", default=os.path.join(REPO, ".work", "bench"))
    a = ap.parse_args()
    EXTRA_ARGS.extend(a.args.split())
    bench = os.path.abspath(a.bench_dir)
    work = os.path.join(a.work, a.profile)
    raw = os.path.join(work, "raw")
    ensure_raw(bench, raw, a.profile)
    modes = {"peers": peers, "scaling": scaling, "incremental": incremental, "steady": steady}
    modes[a.mode](a, bench, work, raw)


if __name__ == "__main__":
    main()
