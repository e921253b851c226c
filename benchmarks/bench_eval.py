"""Rank classification: itprobe against EleutherAI lm-evaluation-harness on the same requests.

Both score every label of the output space of N classification test tasks x M instances of
``../shared/data/natinst`` (Tk-Instruct prompts: definition + 2 positive examples) with the packaged
SmolLM2-135M-Instruct (the same safetensors directory). The harness runs its own ``HFLM`` (``hf`` model) and
``loglikelihood`` on one ``(prompt, label)`` request per label, exactly what its multiple-choice tasks send;
itprobe runs ``HFLanguageModel.score_choices``. Timings include tokenisation and exclude model loading.

Reported: instances/s of each setting, agreement with itprobe fp32 (share of instances with the same
argmax; largest absolute log-likelihood difference), and the speedup of itprobe's fastest correct setting
over the harness's fastest correct setting. "Correct" here: same argmax as the fp32 reference on at least
``--min-agreement`` of the instances (bf16 rounding flips near-ties, so 100% is demanded of fp32 only).

Not a test: timings depend on the machine and its load (recorded). Run:

    .venv/bin/pip install lm-eval
    .venv/bin/python benchmarks/bench_eval.py --out benchmarks/results/bench_eval.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NATINST = ROOT.parent / "shared" / "data" / "natinst"


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


def run_itprobe(
    model_dir: Path, precision: str, batch_size: int, requests: list[Request]
) -> tuple[float, list]:
    from itprobe.models import HFLanguageModel, load_model

    lm = HFLanguageModel(load_model(str(model_dir), precision=precision, device="cpu"), batch_size=batch_size)
    start = time.perf_counter()
    scores = lm.score_choices([r.prompt for r in requests], [r.labels for r in requests])
    seconds = time.perf_counter() - start
    return seconds, [[s.logprob for s in row] for row in scores]


def run_harness(model_dir: Path, dtype: str, batch_size: int, requests: list[Request]) -> tuple[float, list]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(
        pretrained=str(model_dir),
        device="cpu",
        dtype=dtype,
        batch_size=batch_size,
        softmax_dtype="float32",  # its default takes log-softmax in the model dtype; fp32 keeps bf16 honest
    )
    flat = [
        Instance("loglikelihood", {}, (r.prompt, label), idx=j, metadata=("bench", i, 1))
        for i, r in enumerate(requests)
        for j, label in enumerate(r.labels)
    ]
    start = time.perf_counter()
    results = lm.loglikelihood(flat, disable_tqdm=True)
    seconds = time.perf_counter() - start
    scores: list[list[float]] = [[] for _ in requests]
    for inst, (logprob, _greedy) in zip(flat, results, strict=True):
        scores[inst.doc_id].append(float(logprob))
    return seconds, scores


def agreement(reference: list, other: list) -> dict[str, float]:
    def argmax(row: list[float]) -> int:
        return max(range(len(row)), key=lambda j: (row[j], -j))

    same = sum(argmax(a) == argmax(b) for a, b in zip(reference, other, strict=True))
    diff = max(abs(x - y) for a, b in zip(reference, other, strict=True) for x, y in zip(a, b, strict=True))
    return {"same_argmax_share": same / len(reference), "max_abs_logprob_diff": diff}


def machine() -> dict[str, object]:
    import torch
    import transformers

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import lm_eval

        harness = getattr(lm_eval, "__version__", "unknown")
    except ImportError:
        harness = None
    from itprobe.models.precision import cpu_has_fast_bf16

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_native_bf16": cpu_has_fast_bf16(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "lm_eval": harness,
        "load_average_before": list(os.getloadavg()),
    }


PROFILED = {
    "tokenise prompts and labels": "encode_choices",
    "shared-prefix pass (one row per batch)": "_prefix_cache",
    "prompt pass (suffixes, cache expanded)": "_encode_prompts",
    "multi-token label pass": "_score_continuations",
}


def profile_itprobe(model_dir: Path, precision: str, batch_size: int, requests: list[Request]) -> dict:
    """Where itprobe's time goes: cumulative seconds of its stages (cProfile) and the top torch ops."""
    import cProfile
    import pstats

    import torch
    from torch.profiler import ProfilerActivity, profile

    from itprobe.models import HFLanguageModel, load_model

    lm = HFLanguageModel(load_model(str(model_dir), precision=precision, device="cpu"), batch_size=batch_size)
    prompts, labels = [r.prompt for r in requests], [r.labels for r in requests]
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(lm.score_choices, prompts, labels)
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    stages = {}
    for label, func in PROFILED.items():
        stages[label] = round(sum(v[3] for k, v in stats.items() if k[2] == func), 2)
    # _encode_prompts includes the prefix pass; report the suffix pass on its own
    stages["prompt pass (suffixes, cache expanded)"] -= stages["shared-prefix pass (one row per batch)"]
    with profile(activities=[ProfilerActivity.CPU]) as prof, torch.inference_mode():
        lm.score_choices(prompts[: 2 * batch_size], labels[: 2 * batch_size])
    ops = prof.key_averages()
    op_total = sum(e.self_cpu_time_total for e in ops) or 1
    top = sorted(ops, key=lambda e: -e.self_cpu_time_total)[:8]
    return {
        "precision": precision,
        "seconds": round(total, 2),
        "stages_seconds": {k: round(v, 2) for k, v in stages.items()},
        "top_torch_ops_share": {e.key: round(e.self_cpu_time_total / op_total, 3) for e in top},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--natinst", type=Path, default=NATINST)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--min-agreement", type=float, default=0.95)
    parser.add_argument("--settings", default="itprobe:fp32,harness:float32,itprobe:bf16,harness:bfloat16")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument(
        "--profile", default=None, metavar="PRECISION", help="only profile itprobe (fp32|bf16)"
    )
    args = parser.parse_args(argv)

    import torch

    from itprobe.models.packaged import packaged_model_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    model_dir = packaged_model_dir("smollm2-135m-instruct")
    requests = build_requests(args.natinst, args.tasks, args.instances)
    if args.profile:
        print(json.dumps(profile_itprobe(model_dir, args.profile, args.batch_size, requests), indent=2))
        return
    info = machine()
    runs: dict[str, dict] = {}
    scores: dict[str, list] = {}
    for setting in args.settings.split(","):
        tool, precision = setting.split(":")
        runner = run_itprobe if tool == "itprobe" else run_harness
        seconds, scores[setting] = runner(model_dir, precision, args.batch_size, requests)
        runs[setting] = {"seconds": round(seconds, 2), "instances_per_s": round(len(requests) / seconds, 3)}
        print(f"{setting}: {seconds:.1f} s", file=sys.stderr)
    reference = scores.get("itprobe:fp32")
    if reference is not None:
        for setting, run in runs.items():
            run.update(agreement(reference, scores[setting]))

    def fastest(tool: str) -> str:
        correct = [
            s
            for s in runs
            if s.startswith(tool) and runs[s].get("same_argmax_share", 1) >= args.min_agreement
        ]
        return max(correct, key=lambda s: runs[s]["instances_per_s"])

    best_itprobe, best_harness = fastest("itprobe"), fastest("harness")
    info["load_average_after"] = list(os.getloadavg())
    result = {
        "benchmark": "rank classification, itprobe vs lm-evaluation-harness HFLM.loglikelihood",
        "model": "smollm2-135m-instruct (packaged, safetensors)",
        "data": f"{len(requests)} instances: first {args.tasks} classification test tasks x {args.instances}",
        "n_label_scores": sum(len(r.labels) for r in requests),
        "batch_size": args.batch_size,
        "machine": info,
        "runs": runs,
        "fp32_agreement": runs.get("harness:float32", {}),
        "itprobe_best": best_itprobe,
        "harness_best": best_harness,
        "speedup": round(runs[best_itprobe]["instances_per_s"] / runs[best_harness]["instances_per_s"], 3),
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
