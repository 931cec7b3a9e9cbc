#!/usr/bin/env python3
"""Where a demo's seconds went, from its output folder: training per run (metrics.jsonl) and every evaluation run
(report.json's per-run seconds), as a markdown table, with the demo's own wall time (report.json).

Usage: scripts/demo-timing.py DEMO_OUT
With parallel runs (adapt demo --jobs N) the runs overlap: their sum is CPU-side work, the wall time is less.
"""
import json
import os
import sys


def training_seconds(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return sum(json.loads(line).get("seconds", 0) for line in f if line.strip())


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    with open(os.path.join(out, "report.json")) as f:
        demo = json.load(f)
    rows = []
    for row in demo["rows"]:
        run = row["method"]
        total = 0.0
        train = training_seconds(os.path.join(out, "runs", run))
        if train is not None:
            rows.append((run, "training", train))
            total += train
        eval_dir = os.path.join(out, "eval", run)
        parts = os.listdir(eval_dir) if os.path.isdir(eval_dir) else []
        for part in sorted(parts, key=lambda p: (p == "autoattack", p)):
            report_path = os.path.join(eval_dir, part, "report.json")
            if not os.path.exists(report_path):
                continue
            with open(report_path) as f:
                report = json.load(f)
            # Stage runs of a cascade ("autoattack/adaptive:square") are inside their parent run's seconds.
            stages = [r for r in report["runs"] if "/" in r["key"] and ":" in r["key"].split("/", 1)[1]]
            for r in report["runs"]:
                if r in stages:
                    continue
                rows.append((run, f"{part}: {r['key']} (n={r['points']})", r["seconds"]))
                total += r["seconds"]
            for r in stages:
                rows.append((run, f"{part}:   stage {r['key'].split(':', 1)[1]}", r["seconds"]))
        rows.append((run, "**run total**", total))
    plan = demo["plan"]["name"] if isinstance(demo["plan"], dict) else demo["plan"]
    print(f"\ndemo `{plan}`: {demo['total_seconds']:.0f} s wall ({demo['machine']})\n")
    print("| run | step | seconds |")
    print("|---|---|---:|")
    for run, step, seconds in rows:
        print(f"| {run} | {step} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
