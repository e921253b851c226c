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

``--decoding tk-instruct``: the paper's protocol (greedy, up to 128 new tokens, stop at EOS only) on the
base model gemma-3-270m where it is installed (SmolLM2 otherwise; the JSON's ``model`` says which): long
decodes, many rows that never stop early.

Peer: **CTranslate2** (`ct2peer`, where ``ctranslate2`` is installed; else ``ctranslate2.skipped`` says
why): the same model converted (``conversion_seconds``), ``generate_batch`` at the same precision
(``ctranslate2`` setting; bf16 only where CTranslate2 offers it on this CPU) and at int8 beside
(``ctranslate2:int8``, fp32 rounds only). ``speedup_vs_ctranslate2``: CTranslate2's median / itprobe's, same
precision, the fastest precision both offer; agreement is counted against itprobe's fp32 outputs.

    .venv/bin/python benchmarks/bench_generate.py --out benchmarks/results/bench_generate.json
    .venv/bin/python benchmarks/bench_generate.py --decoding tk-instruct --out benchmarks/results/bench_generate_tk.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import benchlib
import ct2peer

# the generation protocols by name: itprobe's own registry (itprobe.decoding.PROTOCOLS), described here
PROTOCOLS = {
    "first-line": "greedy; stop at EOS or the first newline after the answer; <= 64 new tokens",
    "tk-instruct": "greedy; stop at EOS only; <= 128 new tokens (the paper's protocol)",
}


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


def decoding_rule(name: str) -> Any:
    from itprobe.decoding import PROTOCOLS as NAMED

    return NAMED[name]


def pick_model(decoding: str) -> tuple[str, Path]:
    """gemma-3-270m (a base model) for the paper's protocol where installed, else the packaged SmolLM2."""
    from itprobe.models.packaged import PackagedModelMissing, packaged_model_dir

    if decoding == "tk-instruct":
        try:
            return "gemma-3-270m", packaged_model_dir("gemma-3-270m")
        except PackagedModelMissing as err:
            print(f"bench_generate: {err}; using smollm2-135m-instruct", file=sys.stderr)
    return "smollm2-135m-instruct", packaged_model_dir("smollm2-135m-instruct")


def compare(reference: list[str], other: list[str], stop: tuple[str, ...]) -> dict[str, Any]:
    """Identical raw outputs and identical answers (`cut_answer`) of ``other`` against ``reference``."""
    from itprobe.decoding import cut_answer

    differ = [i for i, (a, b) in enumerate(zip(reference, other, strict=True)) if a != b]
    answers = sum(cut_answer(a, stop) == cut_answer(b, stop) for a, b in zip(reference, other, strict=True))
    return {
        "identical_outputs": len(reference) - len(differ),
        "identical_answers": answers,
        "n": len(reference),
        "first_differences": [where_they_part(i, reference[i], other[i]) for i in differ[:3]],
    }


def where_they_part(row: int, a: str, b: str) -> dict[str, int]:
    """Where two outputs differ, without their text (a model's output may copy NatInst input text, which
    must not reach a committed result): the row, the length of their common prefix and both lengths."""
    common = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return {"row": row, "common_prefix_chars": common, "chars": len(a), "chars_other": len(b)}


def run_precision(
    args: argparse.Namespace, precision: str, workload: list, model_dir: Path, peer: dict[str, Any]
) -> dict[str, Any]:
    from itprobe.models import HFLanguageModel, load_model
    from itprobe.models.generation import StopRule, eos_ids

    rule = decoding_rule(args.decoding)
    lm = HFLanguageModel(
        load_model(str(model_dir), precision=precision, device="cpu"), batch_size=args.batch_size
    )
    prompts = [p for _, p, _ in workload]
    labels = [lab for _, _, lab in workload]
    settings = {
        "itprobe": lambda: lm.generate(prompts, rule),
        "transformers": lambda: lm.generate(prompts, rule, implementation="transformers"),
        "rank": lambda: lm.score_choices(prompts, labels),
    }
    ids = [lm._prompt_ids(p) for p in prompts]
    stop_rule = StopRule(rule, eos_ids(lm.loaded.model, lm.tokenizer))  # as HFLanguageModel.generate's
    peers = {"ctranslate2": precision} if peer.get("compute_types", {}).get(precision) else {}
    if precision == "fp32" and peer.get("compute_types", {}).get("int8"):
        peers["ctranslate2:int8"] = "int8"
    for name, key in peers.items():
        gen = ct2peer.generator(peer["converted"], peer["compute_types"][key], args.threads)
        settings[name] = lambda gen=gen: ct2peer.generate(gen, lm.tokenizer, ids, stop_rule)
    seconds, results = benchlib.interleaved(settings, args.rounds)
    runs = {name: benchlib.timing(times, len(prompts)) for name, times in seconds.items()}
    fast = results["itprobe"]
    if precision == "fp32":  # the exact mode: every peer's agreement is counted against it
        args.fp32_outputs = fast
    reference = args.fp32_outputs or fast
    for name in peers:
        key = "vs_itprobe_fp32" if args.fp32_outputs else f"vs_itprobe_{precision}"
        runs[name][key] = compare(reference, results[name], rule.stop)
    peak = args.peak["bf16" if precision == "bf16" else "fp32"]
    flops = {"generate": benchlib.count_flops(settings["itprobe"])}
    if args.full:
        flops["rank"] = benchlib.count_flops(settings["rank"])
    new_tokens = sum(len(lm._encode(text, special=False)) for text in fast)
    median = {name: run["median_seconds"] for name, run in runs.items()}
    return {
        "runs": runs,
        "speedup": round(median["transformers"] / median["itprobe"], 3),
        "agreement": compare(results["transformers"], fast, rule.stop),
        "generation_over_rank": round(median["itprobe"] / median["rank"], 3),
        "flops": flops,
        "mfu": {
            name: benchlib.mfu(count, median["itprobe" if name == "generate" else "rank"], peak)
            for name, count in flops.items()
        },
        "new_tokens_itprobe": new_tokens,
        "rows_at_the_cap": sum(len(lm._encode(t, special=False)) >= rule.max_new_tokens for t in fast),
    }


def ctranslate2_summary(peer: dict[str, Any], by_precision: dict[str, Any]) -> dict[str, Any]:
    """``speedup_vs_ctranslate2`` (same precision, the fastest precision both offer) and int8 beside."""
    if "skipped" in peer:
        return {"speedup_vs_ctranslate2": None, "ctranslate2": {"skipped": peer["skipped"]}}
    same = {
        p: round(r["runs"]["ctranslate2"]["median_seconds"] / r["runs"]["itprobe"]["median_seconds"], 3)
        for p, r in by_precision.items()
        if "ctranslate2" in r["runs"]
    }
    best = min(
        (p for p in same), key=lambda p: by_precision[p]["runs"]["itprobe"]["median_seconds"], default=None
    )
    info = {**ct2peer.peer_info(peer, same), "generate_batch_size": ct2peer.GENERATE_BATCH}
    int8 = by_precision.get("fp32", {}).get("runs", {}).get("ctranslate2:int8")
    if int8 is not None:
        fastest = min(r["runs"]["itprobe"]["median_seconds"] for r in by_precision.values())
        info["int8_seconds_over_itprobe_fastest"] = round(int8["median_seconds"] / fastest, 3)
        info["int8_vs_itprobe_fp32"] = int8.get("vs_itprobe_fp32")
    return {"speedup_vs_ctranslate2": same.get(best) if best else None, "ctranslate2": info}


def prepare_peer(args: argparse.Namespace, precisions: list[str], model_dir: Path, folder: Path) -> dict:
    """Convert the model for CTranslate2 (timed), or say why the peer is skipped."""
    why = "--no-ctranslate2" if args.no_ctranslate2 else ct2peer.missing_reason()
    if why is not None:
        return {"skipped": why}
    import ctranslate2

    try:
        converted = ct2peer.convert(model_dir, folder)
    except Exception as err:  # a model architecture its converter does not know
        return {"skipped": f"conversion failed: {type(err).__name__}: {err}"}
    supported = sorted(ctranslate2.get_supported_compute_types("cpu"))
    return {
        "supported": supported,
        "converted": converted,
        "compute_types": ct2peer.compute_types(precisions, supported),
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

    from itprobe.models import HFLanguageModel, load_model

    rule = decoding_rule(args.decoding)
    lm = HFLanguageModel(
        load_model(str(model_dir), precision=precision, device="cpu"), batch_size=args.batch_size
    )
    prompts, labels = [p for _, p, _ in workload], [lab for _, _, lab in workload]
    out = {}
    for name, run in {
        "generate": lambda: lm.generate(prompts, rule),
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
    parser.add_argument("--decoding", choices=sorted(PROTOCOLS), default="first-line")
    parser.add_argument("--no-ctranslate2", action="store_true", help="skip the CTranslate2 peer")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)

    import torch

    from itprobe.models.precision import cpu_has_fast_bf16

    torch.set_num_threads(args.threads)
    precisions = args.precision.split(",")
    if args.full:
        args.instances = args.batch_size = 16
        precisions = ["fp32", "bf16"] if cpu_has_fast_bf16() else ["fp32"]
    info = benchlib.machine()
    alias, model_dir = pick_model(args.decoding)
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
    precisions.sort(key=lambda p: p != "fp32")  # fp32 first: its outputs are every agreement's reference
    args.fp32_outputs = None
    with ct2peer.temporary_folder() as folder:
        peer = prepare_peer(args, precisions, model_dir, Path(folder))
        by_precision = {p: run_precision(args, p, workload, model_dir, peer) for p in precisions}
    info["load_average_after"] = benchlib.load_average()
    info["matmul_peak_gflops"] = args.peak
    headline = by_precision["fp32"] if "fp32" in by_precision else next(iter(by_precision.values()))
    result = {
        "benchmark": "greedy generation: itprobe shared-prefix kernel vs transformers generate; rank on the same instances",
        "model": f"{alias} (packaged, safetensors)",
        "workload": {
            "instances": len(workload),
            "tasks": args.tasks,
            "instances_per_task": args.instances,
            "prompt": "Tk-Instruct: definition + 2 positive examples",
            "decoding": f"{args.decoding}: {PROTOCOLS[args.decoding]}",
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
        **ctranslate2_summary(peer, by_precision),
    }
    benchlib.emit(result, args.out)


if __name__ == "__main__":
    main()
