"""Greedy generation: itprobe's shared-prefix kernel against transformers' ``generate``, and against itprobe's
rank classification of the same instances (not a test).

Workload: the first ``--tasks`` classification test tasks of ``../shared/data/natinst`` in official order,
``--instances`` each, Tk-Instruct prompts (definition + 2 positive examples), the packaged SmolLM2-135M-Instruct,
batches of ``--batch-size``, the study's decoding rule (`itprobe.decoding.Decoding`: stop at EOS or after the
first newline that follows the answer, at most 64 new tokens). Settings, on one loaded model per precision:

- ``itprobe``: `HFLanguageModel.generate` (batches of one task's prompts; the shared prefix runs once per batch,
  suffixes in length groups, KV-cached decoding, finished rows leave the batch);
- ``transformers``: the same call with ``implementation="transformers"``: ``model.generate`` (greedy, KV cache,
  ``logits_to_keep``) on length-sorted, left-padded batches of the same size, the same stop rule as a stopping
  criterion: its best setting on a CPU we know of;
- ``rank``: `HFLanguageModel.score_choices` of the same instances over their task's labels.

The settings run interleaved for ``--rounds`` rounds; figures are medians. Final JSON: ``speedup`` (itprobe over
transformers, same precision), ``agreement`` (identical raw outputs, in fp32 the exact mode), ``generation_over_rank``
and ``mfu`` (see benchlib; rank's FLOPs are counted with ``--full`` only, to keep the default run under
10 minutes: bench_eval has rank's MFU). ``--full``: 16 instances per task in batches of 16 (the study's
evaluation batch size), fp32 and bf16. ``--profile``: only where itprobe's time goes (stages, one pass each).

    .venv/bin/python benchmarks/bench_generate.py --out benchmarks/results/bench_generate.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import benchlib


def build_workload(natinst: Path, n_tasks: int, n_instances: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """(task, prompt, labels) for the first ``n_tasks`` classification test tasks, ``n_instances`` each."""
    from itprobe.prompts import PromptConfig, encode_task
    from itprobe.tasks import load_tasks

    tasks = [t for t in load_tasks(natinst / "test_tasks.jsonl.gz") if t.is_classification][:n_tasks]
    if len(tasks) < n_tasks:
        sys.exit(f"bench_generate: only {len(tasks)} classification test tasks in {natinst}")
    rows = []
    for task in tasks:
        assert task.output_space is not None
        for prompt in encode_task(task, PromptConfig(), max_instances=n_instances):
            rows.append((task.name, prompt.text, task.output_space.labels))
    return rows


def token_stats(lm: Any, prompts: list[str], batch_size: int) -> dict[str, Any]:
    """Prompt tokens, and the share of them a task's batch shares (what the prefix pass saves)."""
    from itprobe.models.hf import prefix_batches
    from itprobe.models.prefix import common_prefix_length

    ids = [lm._prompt_ids(p) for p in prompts]
    shared = 0
    for batch in prefix_batches(ids, batch_size):
        if len(batch) > 1:
            shared += (len(batch) - 1) * common_prefix_length([ids[i] for i in batch])
    total = sum(len(i) for i in ids)
    return {
        "prompt_tokens": total,
        "mean_prompt_tokens": round(total / len(ids), 1),
        "shared_share": round(shared / total, 3),
    }


def run_precision(
    args: argparse.Namespace, precision: str, workload: list, model_dir: Path
) -> dict[str, Any]:
    from itprobe.decoding import Decoding, cut_answer
    from itprobe.models import HFLanguageModel, load_model

    rule = Decoding()
    lm = HFLanguageModel(
        load_model(str(model_dir), precision=precision, device="cpu"), batch_size=args.batch_size
    )
    prompts = [p for _, p, _ in workload]
    labels = [lab for _, _, lab in workload]
    settings = {
        "itprobe": lambda: lm.generate(prompts, rule.max_new_tokens, rule.stop),
        "transformers": lambda: lm.generate(
            prompts, rule.max_new_tokens, rule.stop, implementation="transformers"
        ),
        "rank": lambda: lm.score_choices(prompts, labels),
    }
    seconds, results = benchlib.interleaved(settings, args.rounds)
    runs = {name: benchlib.timing(times, len(prompts)) for name, times in seconds.items()}
    fast, slow = results["itprobe"], results["transformers"]
    differ = [i for i, (a, b) in enumerate(zip(fast, slow, strict=True)) if a != b]
    answers = sum(
        cut_answer(a, rule.stop) == cut_answer(b, rule.stop) for a, b in zip(fast, slow, strict=True)
    )
    peak = args.peak["bf16" if precision == "bf16" else "fp32"]
    flops = {"generate": benchlib.count_flops(settings["itprobe"])}
    if args.full:
        flops["rank"] = benchlib.count_flops(settings["rank"])
    new_tokens = sum(len(lm._encode(text, special=False)) for text in fast)
    return {
        "runs": runs,
        "speedup": round(runs["transformers"]["median_seconds"] / runs["itprobe"]["median_seconds"], 3),
        "agreement": {
            "identical_outputs": len(fast) - len(differ),
            "identical_answers": answers,
            "n": len(fast),
            "first_differences": [{"itprobe": fast[i], "transformers": slow[i]} for i in differ[:3]],
        },
        "generation_over_rank": round(runs["itprobe"]["median_seconds"] / runs["rank"]["median_seconds"], 3),
        "flops": flops,
        "mfu": {
            name: benchlib.mfu(
                count, runs["itprobe" if name == "generate" else "rank"]["median_seconds"], peak
            )
            for name, count in flops.items()
        },
        "new_tokens_itprobe": new_tokens,
    }


STAGES = {  # (function name, file) -> stage
    ("encode_choices", "hf.py"): "tokenisation",
    ("_prompt_ids", "hf.py"): "tokenisation",
    ("encode_prompts", "prefix.py"): "prompt passes (prefix, suffix groups)",
    ("_step", "generation.py"): "decode steps",
    ("_join", "generation.py"): "decode pool joins (cache copies)",
    ("_score_continuations", "scoring.py"): "multi-token label pass",
}


def profile(args: argparse.Namespace, precision: str, workload: list, model_dir: Path) -> dict[str, Any]:
    """Seconds per stage of one itprobe generation pass and one rank pass (cProfile, cumulative)."""
    import cProfile
    import pstats
    import time

    from itprobe.decoding import Decoding
    from itprobe.models import HFLanguageModel, load_model

    rule = Decoding()
    lm = HFLanguageModel(
        load_model(str(model_dir), precision=precision, device="cpu"), batch_size=args.batch_size
    )
    prompts, labels = [p for _, p, _ in workload], [lab for _, _, lab in workload]
    out = {}
    for name, run in {
        "generate": lambda: lm.generate(prompts, rule.max_new_tokens, rule.stop),
        "rank": lambda: lm.score_choices(prompts, labels),
    }.items():
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.runcall(run)
        total = time.perf_counter() - start
        stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        stages: dict[str, float] = {}
        for (file, _line, func), row in stats.items():
            stage = STAGES.get((func, Path(file).name))
            if stage:
                stages[stage] = round(stages.get(stage, 0.0) + row[3], 2)
        stages["other"] = round(total - sum(stages.values()), 2)
        out[name] = {"seconds": round(total, 2), "stages_seconds": stages}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--natinst", type=Path, default=benchlib.NATINST)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--instances", type=int, default=8, help="per task (8: one full batch per task)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="fp32", help="comma-separated: fp32, bf16")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: the machine is shared)")
    parser.add_argument("--full", action="store_true", help="16 instances per task, batch 16, fp32 and bf16")
    parser.add_argument("--profile", action="store_true", help="only itprobe's stage times (one pass each)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    import torch

    from itprobe.models.packaged import packaged_model_dir
    from itprobe.models.precision import cpu_has_fast_bf16

    torch.set_num_threads(args.threads)
    precisions = args.precision.split(",")
    if args.full:
        args.instances = args.batch_size = 16
        precisions = ["fp32", "bf16"] if cpu_has_fast_bf16() else ["fp32"]
    info = benchlib.machine()
    model_dir = packaged_model_dir("smollm2-135m-instruct")
    workload = build_workload(args.natinst, args.tasks, args.instances)
    if args.profile:
        benchlib.emit({p: profile(args, p, workload, model_dir) for p in precisions}, args.out)
        return
    args.peak = benchlib.matmul_peak()
    from itprobe.models import HFLanguageModel, load_model

    stats = token_stats(
        HFLanguageModel(load_model(str(model_dir), precision="fp32", device="cpu")),
        [p for _, p, _ in workload],
        args.batch_size,
    )
    by_precision = {p: run_precision(args, p, workload, model_dir) for p in precisions}
    info["load_average_after"] = benchlib.load_average()
    info["matmul_peak_gflops"] = args.peak
    headline = by_precision["fp32"] if "fp32" in by_precision else next(iter(by_precision.values()))
    result = {
        "benchmark": "greedy generation: itprobe shared-prefix kernel vs transformers generate; rank on the same instances",
        "model": "smollm2-135m-instruct (packaged, safetensors)",
        "workload": {
            "instances": len(workload),
            "tasks": args.tasks,
            "instances_per_task": args.instances,
            "prompt": "Tk-Instruct: definition + 2 positive examples",
            "decoding": "greedy; stop at EOS or the first newline after the answer; <= 64 new tokens",
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            **stats,
        },
        "machine": info,
        "by_precision": by_precision,
        "speedup": headline["speedup"],
        "agreement": headline["agreement"],
        "generation_over_rank": headline["generation_over_rank"],
        "mfu": {p: r["mfu"] for p, r in by_precision.items()},
    }
    benchlib.emit(result, args.out)


if __name__ == "__main__":
    main()
