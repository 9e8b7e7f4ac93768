#!/usr/bin/env python3
"""Checks that an incremental compact rewrote exactly the partitions that the newly
arrived files have rows for, computed here from the raw files with pyarrow.

    expect_rewritten.py RAW_DIR HOUR_DIR... --report COMPACT_JSON
"""
import argparse
import glob
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("hours", nargs="+", help="arrival-hour folders relative to RAW")
    ap.add_argument("--report", required=True)
    a = ap.parse_args()
    fed = set()
    for h in a.hours:
        for path in glob.glob(os.path.join(a.raw, h, "*.parquet")):
            t = pq.read_table(path, columns=["event_time"])
            parts = pc.strftime(t["event_time"].cast(pa.timestamp("us", tz="UTC")), format="dt=%Y-%m-%d/hour=%H")
            fed.update(parts.to_pylist())
    report = json.load(open(a.report))
    rewritten = {p["partition"] for p in report["partitions"]}
    if report["status"] != "committed":
        sys.exit(f"second run did not commit: {report['status']}")
    if rewritten != fed:
        sys.exit(f"rewrote {len(rewritten)} partitions, expected the {len(fed)} that received rows: "
                 f"extra {sorted(rewritten - fed)[:5]}, missing {sorted(fed - rewritten)[:5]}")
    print(f"   second run rewrote exactly the {len(fed)} partitions that received rows "
          f"(of {report['metrics']['partitions_rewritten']} rewritten)")


if __name__ == "__main__":
    main()
