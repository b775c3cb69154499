#!/usr/bin/env python3
"""Score `benchctl analyze` on a corpus written by generate.py.

    python score.py CORPUS --benchctl target/release/benchctl [--jobs 2] [--json OUT]

Runs `benchctl analyze --no-write --json` on every run directory of CORPUS
(its labels.json says which) and compares each DUT with its label:

- a culprit (label "fail") is *detected* when benchctl fails it with a
  medium or high finding of the label's kind (or one of `also_possible`),
  and *failed for another reason* when it fails it with other kinds only;
- an honest DUT (label "pass") is a *false positive* when benchctl fails it;
- a DUT labelled "incomplete" (a stream it needs is missing) should be
  incomplete, never pass.

Runs the generator flags `ambiguous` (the spec does not settle the answer)
are counted apart. Prints one table per class; this script only measures:
nothing here feeds back into benchctl's thresholds.
"""

import argparse
import collections
import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path

FAILING = {"medium", "high"}


def analyze(benchctl, run_dir):
    out = subprocess.run(
        [benchctl, "analyze", "--no-write", "--json", str(run_dir)],
        capture_output=True,
        text=True,
    )
    try:
        return out.returncode, json.loads(out.stdout)
    except json.JSONDecodeError:
        return out.returncode, {"error": out.stderr.strip()[-400:]}


def judge(label, doc):
    """(dut, class, outcome, detail) for each labelled DUT of one run."""
    found = {d.get("dut"): d for d in doc.get("duts", [])}
    rows = []
    for dut, want in label["duts"].items():
        got = found.get(dut)
        cls = want["class"]
        if got is None:
            rows.append((dut, cls, "not judged", doc.get("error", "DUT missing from the findings")))
            continue
        kinds = sorted(
            {f["kind"] for f in got.get("findings", []) if f.get("severity") in FAILING}
        )
        verdict = got.get("verdict")
        if want["verdict"] == "fail":
            expected = {want["kind"], *want.get("also_possible", [])}
            if verdict == "fail" and expected & set(kinds):
                outcome = "detected"
            elif verdict == "fail":
                outcome = "failed, other kind"
            elif verdict == "incomplete":
                outcome = "incomplete"
            else:
                outcome = "missed"
        elif want["verdict"] == "pass":
            outcome = {"pass": "pass", "fail": "false positive"}.get(verdict, verdict)
        else:  # labelled incomplete
            outcome = "incomplete" if verdict == "incomplete" else f"{verdict} (want incomplete)"
        rows.append((dut, cls, outcome, ",".join(kinds)))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("corpus", type=Path)
    p.add_argument("--benchctl", required=True)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", type=Path, help="write every DUT's outcome here")
    args = p.parse_args()
    labels = json.loads((args.corpus / "labels.json").read_text())
    runs = labels["runs"]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(analyze, args.benchctl, args.corpus / name): name for name in runs
        }
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            name = futures[fut]
            results[name] = fut.result()
            if n % 50 == 0:
                print(f"{n}/{len(runs)} analyzed", file=sys.stderr)

    table = collections.defaultdict(collections.Counter)
    wrong_kinds = collections.defaultdict(collections.Counter)
    every = []
    for name, label in runs.items():
        _, doc = results[name]
        ambiguous = bool(label.get("ambiguous"))
        for dut, cls, outcome, detail in judge(label, doc):
            key = cls + (" (ambiguous run)" if ambiguous else "")
            table[key][outcome] += 1
            if outcome in ("false positive", "failed, other kind"):
                for k in filter(None, detail.split(",")):
                    wrong_kinds[key][k] += 1
            every.append({"run": name, "dut": dut, "class": cls, "ambiguous": ambiguous,
                          "outcome": outcome, "failing_kinds": detail})

    print(f"corpus {args.corpus} (seed {labels['seed']}, {labels['per_class']} per class)")
    print(f"{'class':40} {'DUTs':>5}  outcome")
    for cls in sorted(table):
        counts = table[cls]
        total = sum(counts.values())
        if cls.startswith("honest"):
            rate = counts["false positive"] / total
            head = f"false positives {counts['false positive']}/{total} ({rate:.1%})"
        else:
            rate = counts["detected"] / total
            head = f"detected {counts['detected']}/{total} ({rate:.1%})"
        rest = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                         if k not in ("detected", "false positive"))
        extra = ""
        if wrong_kinds[cls]:
            extra = "; failing kinds: " + ", ".join(
                f"{k} {v}" for k, v in wrong_kinds[cls].most_common())
        print(f"{cls:40} {total:>5}  {head}; {rest}{extra}")
    if args.json:
        args.json.write_text(json.dumps(every, indent=1))


if __name__ == "__main__":
    main()
