"""Rank classification: itprobe against EleutherAI lm-evaluation-harness on the same requests (not a test).

Both score every label of the output space of the first ``--tasks`` classification test tasks of
``../shared/data/natinst`` x ``--instances`` each (Tk-Instruct prompts: definition + 2 positive examples)
with the packaged SmolLM2-135M-Instruct (the same safetensors directory), batch ``--batch-size``. The harness
runs its own ``HFLM`` and ``loglikelihood`` on one ``(prompt, label)`` request per label, what its
multiple-choice tasks send, with its log-softmax in fp32 (``softmax_dtype``); itprobe runs
`HFLanguageModel.score_choices`. Timings include tokenisation and exclude model loading (each setting's model
is loaded once).

- **Speed**: itprobe and the harness at the precision that is fastest for both on this machine (``auto``: bf16
  where the CPU runs it natively, else fp32; itprobe applies it by autocast, the harness loads bf16 weights),
  interleaved for ``--rounds`` rounds; ``speedup`` = the harness's median seconds / itprobe's.
- **Agreement** in fp32, the exact mode: share of instances with the same arg-max label and the largest
  log-likelihood difference, over the first ``--agreement-instances`` of each task (one interleaved round, also
  timed: the fp32 same-precision ratio).
- **MFU** of itprobe's speed setting (see benchlib).

``--full``: 20 instances per task, fp32 and bf16 both timed in the interleaved rounds, agreement on all.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_eval.py --out benchmarks/results/bench_eval.json
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib


@dataclass(frozen=True)
class Request:
    task: str
    id: str
    prompt: str
    labels: tuple[str, ...]


def build_requests(natinst: Path, n_tasks: int, n_instances: int) -> list[Request]:
    """The first ``n_tasks`` classification test tasks in official order, ``n_instances`` each."""
    from itprobe.prompts import PromptConfig, encode_task
    from itprobe.tasks import load_tasks

    tasks = [t for t in load_tasks(natinst / "test_tasks.jsonl.gz") if t.is_classification][:n_tasks]
    requests = []
    for task in tasks:
        assert task.output_space is not None
        for prompt in encode_task(task, PromptConfig(), max_instances=n_instances):
            requests.append(Request(task.name, prompt.id, prompt.text, task.output_space.labels))
    return requests


def itprobe_setting(model_dir: Path, precision: str, batch_size: int, requests: list[Request]) -> Callable:
    from itprobe.models import HFLanguageModel, load_model

    lm = HFLanguageModel(load_model(str(model_dir), precision=precision, device="cpu"), batch_size=batch_size)

    def run() -> list[list[float]]:
        scores = lm.score_choices([r.prompt for r in requests], [r.labels for r in requests])
        return [[s.logprob for s in row] for row in scores]

    return run


def harness_setting(model_dir: Path, precision: str, batch_size: int, requests: list[Request]) -> Callable:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    dtype = {"fp32": "float32", "bf16": "bfloat16"}[precision]
    lm = HFLM(
        pretrained=str(model_dir), device="cpu", dtype=dtype, batch_size=batch_size, softmax_dtype="float32"
    )
    flat = [
        Instance("loglikelihood", {}, (r.prompt, label), idx=j, metadata=("bench", i, 1))
        for i, r in enumerate(requests)
        for j, label in enumerate(r.labels)
    ]

    def run() -> list[list[float]]:
        scores: list[list[float]] = [[] for _ in requests]
        for inst, (logprob, _greedy) in zip(flat, lm.loglikelihood(flat, disable_tqdm=True), strict=True):
            scores[inst.doc_id].append(float(logprob))
        return scores

    return run


def agreement(reference: list, other: list) -> dict[str, Any]:
    """Same arg-max label (ties to the first) and the largest log-likelihood difference."""

    def argmax(row: list[float]) -> int:
        return max(range(len(row)), key=lambda j: (row[j], -j))

    same = sum(argmax(a) == argmax(b) for a, b in zip(reference, other, strict=True))
    diff = max(abs(x - y) for a, b in zip(reference, other, strict=True) for x, y in zip(a, b, strict=True))
    return {"identical_predictions": same, "n": len(reference), "max_abs_logprob_diff": float(f"{diff:.3g}")}


def timed_settings(
    model_dir: Path, precisions: list[str], args: argparse.Namespace, requests: list[Request], rounds: int
) -> tuple[dict[str, Any], dict[str, list], dict[str, Callable]]:
    settings: dict[str, Callable] = {}
    for precision in precisions:
        settings[f"itprobe:{precision}"] = itprobe_setting(model_dir, precision, args.batch_size, requests)
        settings[f"harness:{precision}"] = harness_setting(model_dir, precision, args.batch_size, requests)
    seconds, results = benchlib.interleaved(settings, rounds)
    return {name: benchlib.timing(times, len(requests)) for name, times in seconds.items()}, results, settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--natinst", type=Path, default=benchlib.NATINST)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument(
        "--instances", type=int, default=8, help="per task, in the speed rounds (a full batch)"
    )
    parser.add_argument("--agreement-instances", type=int, default=2, help="per task, in the fp32 round")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the machine is shared)")
    parser.add_argument("--full", action="store_true", help="20 instances per task, fp32 and bf16 both timed")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    import torch

    from itprobe.models.packaged import packaged_model_dir
    from itprobe.models.precision import cpu_has_fast_bf16

    torch.set_num_threads(args.threads)
    speed_precision = "bf16" if cpu_has_fast_bf16() else "fp32"
    precisions = [speed_precision]
    if args.full:
        args.instances = args.agreement_instances = 20
        precisions = sorted({"fp32", speed_precision})
    from importlib.metadata import version

    info = {**benchlib.machine(), "lm_eval": version("lm_eval")}
    peak = benchlib.matmul_peak()
    model_dir = packaged_model_dir("smollm2-135m-instruct")
    requests = build_requests(args.natinst, args.tasks, args.instances)
    runs, scores, settings = timed_settings(model_dir, precisions, args, requests, args.rounds)
    if "fp32" in precisions:
        fp32_scores = {k: scores[f"{k}:fp32"] for k in ("itprobe", "harness")}
        exact_requests = requests
    else:
        exact_requests = build_requests(args.natinst, args.tasks, args.agreement_instances)
        exact_runs, fp32_scores, _ = timed_settings(model_dir, ["fp32"], args, exact_requests, 1)
        fp32_scores = {k: fp32_scores[f"{k}:fp32"] for k in ("itprobe", "harness")}
        runs.update(exact_runs)
    fp32_agreement = agreement(fp32_scores["itprobe"], fp32_scores["harness"])
    if speed_precision != "fp32":  # how far the fast mode moves each tool from exact itprobe
        index = {(r.task, r.id): i for i, r in enumerate(requests)}
        rows = [index[(r.task, r.id)] for r in exact_requests]
        for tool in ("itprobe", "harness"):
            fast = [scores[f"{tool}:{speed_precision}"][i] for i in rows]
            runs[f"{tool}:{speed_precision}"]["vs_itprobe_fp32"] = agreement(fp32_scores["itprobe"], fast)
    flops = benchlib.count_flops(settings[f"itprobe:{speed_precision}"])
    fastest = {  # per instance: the fp32 round may cover fewer instances than the speed rounds
        tool: min((s for s in runs if s.startswith(tool)), key=lambda s: 1 / runs[s]["items_per_s"])
        for tool in ("itprobe", "harness")
    }
    info["load_average_after"] = benchlib.load_average()
    info["matmul_peak_gflops"] = peak
    speed_itprobe, speed_harness = runs[f"itprobe:{speed_precision}"], runs[f"harness:{speed_precision}"]
    result = {
        "benchmark": "rank classification: itprobe score_choices vs lm-evaluation-harness HFLM.loglikelihood",
        "model": "smollm2-135m-instruct (packaged, safetensors)",
        "workload": {
            "speed": f"{len(requests)} instances: first {args.tasks} classification test tasks x {args.instances}",
            "agreement": f"{len(exact_requests)} instances: first {args.agreement_instances} of each task, fp32",
            "label_scores": sum(len(r.labels) for r in requests),
            "batch_size": args.batch_size,
            "rounds": args.rounds,
        },
        "machine": info,
        "runs": runs,
        "fastest_setting": fastest,
        "speed_precision": speed_precision,
        "speedup": round(speed_harness["median_seconds"] / speed_itprobe["median_seconds"], 3),
        "speedup_fp32": round(
            runs["harness:fp32"]["median_seconds"] / runs["itprobe:fp32"]["median_seconds"], 3
        ),
        "agreement": fp32_agreement,
        "flops_itprobe": flops,
        "mfu": {"rank": benchlib.mfu(flops, speed_itprobe["median_seconds"], peak[speed_precision])},
    }
    benchlib.emit(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
