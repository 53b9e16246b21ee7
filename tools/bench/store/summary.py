#!/usr/bin/env python3
"""store_bench's figures as the table in docs/PERFORMANCE.md: for each
backend and N, the median of every repetition and its spread (min-max), from
one or more --benchmark_out JSON files of the same run settings.

usage: tools/bench/store/summary.py RESULTS.json [MORE.json...]
"""
import json
import statistics
import sys
from collections import defaultdict

COLUMNS = [  # (counter, heading, scale, decimals)
    ("items_per_second", "msgs/s", 1, 0),
    ("audit_per_s", "audit rec/s", 1, 0),
    ("records_per_s", "log rec/s", 1, 0),
    ("disk_B_per_msg", "disk B/msg", 1, 0),
    ("cpu_us_per_msg", "CPU µs/msg", 1, 1),
    ("p50_commit_us", "p50 ms", 1e-3, 1),
    ("p99_commit_us", "p99 ms", 1e-3, 1),
    ("msgs_per_sync", "msgs/sync", 1, 0),
]


def main(paths):
    runs = defaultdict(list)
    order = []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for bench in data["benchmarks"]:
            if bench.get("run_type") != "iteration" or bench.get("error_occurred"):
                continue
            name = bench["run_name"].replace("BM_MessageLife/", "").replace("/iterations:1/real_time", "")
            if name not in runs:
                order.append(name)
            runs[name].append(bench)
    print("| backend / N | runs | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |")
    for name in sorted(order, key=lambda n: (n.split("/")[1], ["sqlite", "rocksdb", "lmdb", "segment_log"].index(n.split("/")[0]))):
        cells = []
        for counter, _, scale, decimals in COLUMNS:
            values = [b[counter] * scale for b in runs[name]]
            fmt = "{:,.%df}" % decimals
            cells.append(f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})")
        print(f"| {name.replace('recipients:', 'N=')} | {len(runs[name])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
