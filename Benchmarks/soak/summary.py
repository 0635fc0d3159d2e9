#!/usr/bin/env python3
"""The soak's results (soak-<mode>.json in a folder) as a Markdown table, for Benchmarks/SOAK.md."""
import json, os, sys

folder = sys.argv[1]
rows = []
for mode in ("serial", "threading", "pool", "eventloop", "async", "threading+tls", "pool+tls", "eventloop+tls", "async+tls"):
    path = os.path.join(folder, f"soak-{mode}.json")
    if not os.path.exists(path):
        continue
    r = json.load(open(path))
    p, f = r["peak"], r["final"] or {"descriptors": 0, "threads": 0, "rss_kib": 0}
    rows.append(f"| {mode} | {'pass' if r['passed'] else '**FAIL**'} | {r['seconds']:.0f} s | {r['hostile']:,} | "
                f"{r['verified']:,} | {r['failure_count']} | {p['descriptors']} / {f['descriptors']} | "
                f"{p['threads']} / {f['threads']} | {p['rss_kib']/1024:.1f} / {f['rss_kib']/1024:.1f} |")
print("| mode | verdict | length | hostile connections survived | well-behaved requests verified | failures "
      "| fds peak / final | threads peak / final | RSS MiB peak / final |")
print("|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
