"""The audit a user runs first: every probe, both modes, on a small factory CSV (not a test).

Workload: a generated CSV of 3 tasks x 16 rows (`factory_rows`: ticket priority, complaint topic, tolerance
check; synthetic text written here from templates and a seeded generator, nothing from NatInst), each task with
two demonstrations, audited as ``itprobe audit --tasks factory.csv --precision fp32`` would (all probes, rank
and generate, the packaged SmolLM2, batch 8, default bootstrap) through `itprobe.audit.run_audit`.

Printed JSON: ``wall_seconds`` (the whole script), ``audit_seconds`` (model loaded to report written) and
``stages_seconds``: model load, every (probe, mode) prediction pass (the audit's own timings), and the rest
(scoring, label prior, baselines, bootstrap, report), with the number of evaluations, CPU flags, threads,
precision and the load average before and after. Target (issue #30): the full run <= 3 minutes on an idle
2-core CPU in fp32. ``--instances N`` audits the first N rows of each task (a quicker check).

    .venv/bin/python benchmarks/bench_audit.py --out benchmarks/results/bench_audit.json
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchlib

ROWS_PER_TASK = 16
_PRODUCTS = [
    "conveyor belt",
    "press line 3",
    "paint booth",
    "CNC mill",
    "packaging robot",
    "forklift charger",
]
_PARTS = ["shaft", "bracket", "flange", "bearing housing", "gear blank", "valve body"]


def _priority(rng: random.Random) -> tuple[str, str]:
    level = rng.choice(["low", "medium", "high", "urgent"])
    what = rng.choice(_PRODUCTS)
    text = {
        "low": f"The {what} label printer prints slightly faded text; replace the ribbon at the next service.",
        "medium": f"The {what} slows down every afternoon and output drops by about ten percent.",
        "high": f"The {what} stopped twice this shift and the operators restart it by hand.",
        "urgent": f"Smoke is coming from the {what} motor and the line is stopped; nobody can work.",
    }[level]
    return f"Ticket #{rng.randint(1000, 9999)}: {text}", level


def _topic(rng: random.Random) -> tuple[str, str]:
    topic = rng.choice(["delivery", "billing", "quality", "service"])
    part = rng.choice(_PARTS)
    text = {
        "delivery": f"Our order of {rng.randint(20, 500)} {part}s arrived nine days late and two boxes were missing.",
        "billing": f"The invoice charges {rng.randint(2, 9)} times the agreed price per {part}; please correct it.",
        "quality": f"Several {part}s in the last batch have cracks and burrs along the edge.",
        "service": f"Your support line kept us on hold for an hour about the {part} drawings.",
    }[topic]
    return text, topic


def _tolerance(rng: random.Random) -> tuple[str, str]:
    nominal = rng.choice([10.0, 12.5, 25.0, 40.0])
    tolerance = rng.choice([0.05, 0.1, 0.2])
    inside = rng.random() < 0.5
    offset = tolerance * rng.uniform(0.1, 0.9) if inside else tolerance * rng.uniform(1.2, 3.0)
    measured = nominal + rng.choice([-1, 1]) * offset
    text = (
        f"{rng.choice(_PARTS)}: nominal {nominal:.2f} mm +/- {tolerance:.2f} mm, measured {measured:.3f} mm"
    )
    return text, "pass" if inside else "fail"


TASKS = {  # name -> (definition, labels, row generator)
    "ticket_priority": (
        "Read the maintenance ticket from the factory floor and decide its priority: low, medium, high or urgent.",
        ("low", "medium", "high", "urgent"),
        _priority,
    ),
    "complaint_topic": (
        "Classify the customer complaint by its topic: delivery, billing, quality or service.",
        ("delivery", "billing", "quality", "service"),
        _topic,
    ),
    "tolerance_check": (
        "Given a part's nominal size, tolerance and measured size, answer pass if the measurement is within "
        "the tolerance and fail otherwise.",
        ("pass", "fail"),
        _tolerance,
    ),
}


def factory_rows(rows_per_task: int = ROWS_PER_TASK, seed: int = 0) -> list[dict[str, str]]:
    """The CSV's rows (`itprobe.tasks.user` format): per task, two demonstrations then the instances."""
    rng = random.Random(seed)
    out = []
    for name, (definition, labels, make) in TASKS.items():
        for n in range(rows_per_task + 2):
            text, label = make(rng)
            out.append(
                {
                    "task": name,
                    "definition": definition if n == 0 else "",
                    "input": text,
                    "output": label,
                    "labels": "|".join(labels) if n == 0 else "",
                    "role": "positive" if n < 2 else "",
                }
            )
    return out


def write_csv(rows: list[dict[str, str]], path: Path) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["task", "definition", "input", "output", "labels", "role"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from itprobe.audit.runner import AuditConfig, run_audit
    from itprobe.models import open_model

    tasks = write_csv(factory_rows(), folder / "factory.csv")
    config = AuditConfig(
        tasks_path=tasks,
        model="smollm2-135m-instruct",
        max_instances=args.instances,
        precision=args.precision,
        batch_size=args.batch_size,
    )
    start = time.perf_counter()
    model = open_model(config.model, precision=config.precision, batch_size=config.batch_size)
    loaded = time.perf_counter()
    outcome = run_audit(config, folder / "audit", model=model, progress=False)
    end = time.perf_counter()
    passes = {name: round(seconds, 2) for name, seconds in outcome.data.timings.items()}
    audit = end - loaded
    return {
        "evaluations": sum(p.n_instances for p in outcome.data.plan.passes),
        "passes": len(outcome.data.plan.passes),
        "audit_seconds": round(audit, 1),
        "stages_seconds": {
            "model load": round(loaded - start, 2),
            "prediction passes": round(sum(passes.values()), 2),
            "scoring, prior, baselines, bootstrap, report": round(audit - sum(passes.values()), 2),
        },
        "pass_seconds": passes,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=ROWS_PER_TASK, help="rows audited per task")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the machine is shared)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    info = benchlib.machine()
    with tempfile.TemporaryDirectory(prefix="itprobe-bench-audit-") as folder:
        measured = run(args, Path(folder))
    info["load_average_after"] = benchlib.load_average()
    result = {
        "benchmark": "the full audit (all probes, rank and generate) of a generated 3-task factory CSV",
        "model": "smollm2-135m-instruct (packaged, safetensors)",
        "workload": {
            "tasks": len(TASKS),
            "rows_per_task": ROWS_PER_TASK,
            "instances_per_task": min(args.instances, ROWS_PER_TASK),
            "precision": args.precision,
            "batch_size": args.batch_size,
        },
        "machine": info,
        **measured,
        "target_seconds_idle": 180,
    }
    benchlib.emit(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
