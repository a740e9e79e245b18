"""Calibrate `check` on a corpus of fmin-made studies: false alarms and detection, per check.

    python benchmarks/calibrate_checks.py --replicates 4 --markdown   # dev: replicates 0-3
    python benchmarks/calibrate_checks.py --replicates 6 --from-replicate 4 --markdown
                                          # held out: replicates 4-5, built after the rules froze
    python benchmarks/calibrate_checks.py --replicates 4 --misses      # per study: what was missed
    python benchmarks/calibrate_checks.py --only defect-edge --verbose

Studies are built on first use (benchmarks/.corpus/). Method (also in the README):
``benchmarks/corpus.py`` makes, per replicate, 54 healthy studies (TPE and
random search, optimum inside the space, 30-500 trials, xgboost/keras/sklearn-like,
conditional, normal-kind and two-parameter spaces, n_startup_jobs 1-30, branin) and 48 with one
planted defect each (4 per check). Each study is checked as a user would, from its pickle:
with ``--space`` (the hp space it was made with) and without (the space ``check`` infers from
the data). Printed per check: the false-alarm rate (healthy studies where it fires at
warning or above), the detection rate (planted studies of its kind where it fires at warning
or above), and the gate: the share of healthy studies ``check`` passes with its defaults,
and of planted ones it fails. Also how often the sampler is detected right.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus  # noqa: E402

from hopt_inspect.checks import REGISTRY, at_or_above, run_checks  # noqa: E402
from hopt_inspect.loading import load_study  # noqa: E402
from hopt_inspect.resolve import resolve_space  # noqa: E402


def evaluate(specs=None, quiet=True) -> list[dict]:
    """One row per (study, mode): what fired at warning or above, and the sampler guess."""
    rows = []
    for spec, path in corpus.build(specs, quiet=quiet):
        study = load_study(path)
        given = corpus.params_of(corpus.spaces()[spec.space])
        for mode in ("space", "inferred"):
            space = given if mode == "space" else resolve_space(None, study)
            report = run_checks(study, space)
            fired = {f.name for f in report.findings if at_or_above(f.severity, "warning")}
            named = {f.name for f in report.findings}
            expected = [f for f in report.findings if f.name == spec.expect]
            rows.append(
                {
                    "spec": spec,
                    "expected_findings": [f"{f.severity}: {f.message}" for f in expected]
                    or [f"(no {spec.expect} finding)"]
                    if spec.expect
                    else [],
                    "mode": mode,
                    "fired": fired,
                    "named": named,
                    "failed": report.failed,
                    "sampler": report.sampler.get("kind", "unknown"),
                    "startup": report.sampler.get("n_startup"),
                }
            )
    return rows


def rates(rows: list[dict]) -> dict:
    out: dict = {"checks": {}}
    for mode in ("space", "inferred"):
        healthy = [r for r in rows if r["mode"] == mode and r["spec"].defect in ("", "branin")]
        planted = [r for r in rows if r["mode"] == mode and r["spec"].defect not in ("", "branin")]
        out[mode] = {
            "healthy": len(healthy),
            "gate_pass_healthy": sum(not r["failed"] for r in healthy) / max(1, len(healthy)),
            "gate_fail_planted": sum(r["failed"] for r in planted) / max(1, len(planted)),
            "sampler_right": sum(
                r["sampler"] == ("random" if r["spec"].algo == "rand" else "tpe") for r in healthy
            )
            / max(1, len(healthy)),
            "sampler_wrong": sum(
                r["sampler"] == ("tpe" if r["spec"].algo == "rand" else "random") for r in healthy
            )
            / max(1, len(healthy)),
        }
        for c in REGISTRY:
            mine = [r for r in planted if r["spec"].expect == c.name]
            entry = out["checks"].setdefault(c.name, {"code": c.code})
            entry[f"false_{mode}"] = sum(c.name in r["fired"] for r in healthy) / max(
                1, len(healthy)
            )
            entry[f"detect_{mode}"] = (
                sum(c.name in r["fired"] for r in mine) / len(mine) if mine else None
            )
            entry[f"named_{mode}"] = (
                sum(c.name in r["named"] for r in mine) / len(mine) if mine else None
            )
            entry["planted"] = len(mine)
    return out


def _pct(x) -> str:
    """Whole percentages where exact, else one decimal (1 of 216 is 0.5%, not 0%)."""
    if x is None:
        return "—"
    return f"{x:.0%}" if abs(x * 100 - round(x * 100)) < 0.05 else f"{x:.1%}"


def table(result: dict, markdown: bool) -> str:
    head = ["check", "false alarms --space", "without", "detected --space", "without", "n"]
    lines = []
    if markdown:
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    else:
        lines.append(f"{'check':<24}{'false alarms':>14}{'(no space)':>12}{'detected':>10}"
                     f"{'(no space)':>12}{'planted':>9}")  # fmt: skip
    for name, e in result["checks"].items():
        cells = [
            f"{e['code']} {name}",
            _pct(e["false_space"]),
            _pct(e["false_inferred"]),
            _pct(e["detect_space"]),
            _pct(e["detect_inferred"]),
            str(e["planted"]),
        ]
        if markdown:
            lines.append("| " + " | ".join(cells) + " |")
        else:
            lines.append(
                f"{cells[0]:<24}{cells[1]:>14}{cells[2]:>12}{cells[3]:>10}{cells[4]:>12}{cells[5]:>9}"
            )
    s, i = result["space"], result["inferred"]
    lines.append("")
    lines.append(
        f"default gate (--fail-on warning) passes {_pct(s['gate_pass_healthy'])} of"
        f" {s['healthy']} healthy studies with --space (target >= 95%),"
        f" {_pct(i['gate_pass_healthy'])} without (target >= 90%); it fails"
        f" {_pct(s['gate_fail_planted'])} / {_pct(i['gate_fail_planted'])} of the planted ones"
    )
    lines.append(
        f"sampler detected right on healthy studies: {_pct(s['sampler_right'])} with --space,"
        f" {_pct(i['sampler_right'])} without; wrong (TPE called random or the reverse):"
        f" {_pct(s['sampler_wrong'])} / {_pct(i['sampler_wrong'])}; the rest 'cannot tell'"
    )
    return "\n".join(lines)


def _replicate(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail[1:]) if tail.startswith("r") and tail[1:].isdigit() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the README table")
    parser.add_argument("--verbose", action="store_true", help="one line per study")
    parser.add_argument(
        "--replicates",
        type=int,
        default=1,
        help="replicates 0..N-1 (102 studies each); see --from-replicate",
    )
    parser.add_argument(
        "--only",
        default="",
        help="only studies whose name contains this text (e.g. defect-edge); with"
        " --verbose, also the expected check's findings on planted studies",
    )
    parser.add_argument(
        "--misses",
        action="store_true",
        help="one line per planted study its check did not name (and per healthy study"
        " the gate failed), with the expected check's findings",
    )
    parser.add_argument(
        "--from-replicate",
        type=int,
        default=0,
        help="report only replicates from this one on (e.g. those never looked at in tuning)",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    specs = corpus.all_specs(args.replicates)
    specs = [s for s in specs if _replicate(s.name) >= args.from_replicate]
    specs = [s for s in specs if args.only in s.name]
    rows = evaluate(specs, quiet=False)
    took = time.perf_counter() - start
    for r in rows:
        spec = r["spec"]
        planted = spec.defect not in ("", "branin")
        missed = spec.expect not in r["fired"] if planted else r["failed"]
        if args.verbose or (args.misses and missed):
            print(
                f"{spec.name:28} {spec.algo:4} n={spec.n:<4} {r['mode']:8}"
                f" sampler={r['sampler']:<7} startup={r['startup']} fired={sorted(r['fired'])}"
            )
            if (args.only or args.misses) and planted:
                for text in r["expected_findings"]:
                    print("    " + text)
    print(table(rates(rows), args.markdown))
    print(f"\n{len(rows) // 2} studies x 2 modes in {took:.0f} s")


if __name__ == "__main__":
    main()
