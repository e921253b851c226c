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

Peer: **CTranslate2** (`ct2peer`, where ``ctranslate2`` is installed, else ``ctranslate2.skipped`` says why;
``--no-harness`` leaves lm-eval out): the same model converted (``conversion_seconds``), ``score_batch`` on
each (prompt, label) sequence, at the same precision (``ctranslate2:<precision>``; bf16 only where
CTranslate2 offers it on this CPU) and at int8 beside (``ctranslate2:int8``). Its fp32 agreement with itprobe
fp32 is counted on the agreement instances; ``speedup_vs_ctranslate2`` = CTranslate2's median / itprobe's at
the same precision, the fastest precision both offer.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_eval.py --out benchmarks/results/bench_eval.json
    .venv/bin/python benchmarks/bench_eval.py --no-harness --tasks 3 --instances 4 --rounds 1   # CT2 only
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib
import ct2peer


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


def ctranslate2_setting(
    peer: dict[str, Any], compute_type: str, args: argparse.Namespace, requests: list[Request], tokenizer: Any
) -> Callable:
    from itprobe.models.boundary import causal_choice_ids
    from itprobe.models.scoring import Encoded

    gen = ct2peer.generator(peer["converted"], compute_type, args.threads)

    def run() -> list[list[float]]:  # tokenised as itprobe does (the prompt/label boundary of boundary.py)
        encoded = [Encoded(*causal_choice_ids(tokenizer, r.prompt, r.labels)) for r in requests]
        return ct2peer.score(gen, tokenizer, encoded, args.batch_size)

    return run


def agreement(reference: list, other: list) -> dict[str, Any]:
    """Same arg-max label (ties to the first) and the largest log-likelihood difference."""

    def argmax(row: list[float]) -> int:
        return max(range(len(row)), key=lambda j: (row[j], -j))

    same = sum(argmax(a) == argmax(b) for a, b in zip(reference, other, strict=True))
    diff = max(abs(x - y) for a, b in zip(reference, other, strict=True) for x, y in zip(a, b, strict=True))
    return {"identical_predictions": same, "n": len(reference), "max_abs_logprob_diff": float(f"{diff:.3g}")}


def timed_settings(
    model_dir: Path,
    precisions: list[str],
    args: argparse.Namespace,
    requests: list[Request],
    rounds: int,
    peer: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, list], dict[str, Callable]]:
    settings: dict[str, Callable] = {}
    types = peer.get("compute_types", {})
    for precision in precisions:
        settings[f"itprobe:{precision}"] = itprobe_setting(model_dir, precision, args.batch_size, requests)
        if not args.no_harness:
            settings[f"harness:{precision}"] = harness_setting(
                model_dir, precision, args.batch_size, requests
            )
        if types.get(precision):
            settings[f"ctranslate2:{precision}"] = ctranslate2_setting(
                peer, types[precision], args, requests, peer["tokenizer"]
            )
    if types.get("int8") and "ctranslate2:int8" not in peer.setdefault("done", set()):
        peer["done"].add("ctranslate2:int8")  # once, in the speed rounds
        settings["ctranslate2:int8"] = ctranslate2_setting(
            peer, types["int8"], args, requests, peer["tokenizer"]
        )
    seconds, results = benchlib.interleaved(settings, rounds)
    return {name: benchlib.timing(times, len(requests)) for name, times in seconds.items()}, results, settings


def prepare_peer(args: argparse.Namespace, precisions: list[str], model_dir: Path, folder: Path) -> dict:
    """Convert the model for CTranslate2 (timed), or say why the peer is skipped."""
    why = "--no-ctranslate2" if args.no_ctranslate2 else ct2peer.missing_reason()
    if why is not None:
        return {"skipped": why}
    import ctranslate2
    from transformers import AutoTokenizer

    converted = ct2peer.convert(model_dir, folder)
    supported = sorted(ctranslate2.get_supported_compute_types("cpu"))
    return {
        "supported": supported,
        "converted": converted,
        "compute_types": ct2peer.compute_types(precisions, supported),
        "tokenizer": AutoTokenizer.from_pretrained(str(model_dir)),
    }


def ctranslate2_summary(peer: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any]:
    """``speedup_vs_ctranslate2`` (same precision, the fastest precision both offer) and int8 beside."""
    if "skipped" in peer:
        return {"speedup_vs_ctranslate2": None, "ctranslate2": {"skipped": peer["skipped"]}}
    same = {}
    for name in runs:
        tool, _, precision = name.partition(":")
        if tool == "ctranslate2" and precision != "int8" and f"itprobe:{precision}" in runs:
            per_item = {t: 1 / runs[f"{t}:{precision}"]["items_per_s"] for t in ("itprobe", "ctranslate2")}
            same[precision] = round(per_item["ctranslate2"] / per_item["itprobe"], 3)
    best = min(same, key=lambda p: 1 / runs[f"itprobe:{p}"]["items_per_s"], default=None)
    info = ct2peer.peer_info(peer, same)
    if "ctranslate2:int8" in runs:
        fastest = min(1 / r["items_per_s"] for n, r in runs.items() if n.startswith("itprobe:"))
        info["int8_seconds_over_itprobe_fastest"] = round(
            1 / runs["ctranslate2:int8"]["items_per_s"] / fastest, 3
        )
    return {"speedup_vs_ctranslate2": same.get(best) if best else None, "ctranslate2": info}


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
    parser.add_argument("--no-harness", action="store_true", help="leave lm-evaluation-harness out")
    parser.add_argument("--no-ctranslate2", action="store_true", help="leave the CTranslate2 peer out")
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
    from importlib.metadata import PackageNotFoundError, version

    info = benchlib.machine()
    if not args.no_harness:
        try:
            info["lm_eval"] = version("lm_eval")
        except PackageNotFoundError:
            sys.exit("bench_eval: lm-eval is not installed (pip install -e '.[bench]'), or pass --no-harness")
    tools = ["itprobe"] + ([] if args.no_harness else ["harness"])
    peak = benchlib.matmul_peak()
    model_dir = packaged_model_dir("smollm2-135m-instruct")
    requests = build_requests(args.natinst, args.tasks, args.instances)
    with ct2peer.temporary_folder() as folder:
        peer = prepare_peer(args, sorted({"fp32", *precisions}), model_dir, Path(folder))
        runs, scores, settings = timed_settings(model_dir, precisions, args, requests, args.rounds, peer)
        if "fp32" in precisions:
            exact_requests, exact_scores = requests, scores
        else:
            exact_requests = build_requests(args.natinst, args.tasks, args.agreement_instances)
            exact_runs, exact_scores, _ = timed_settings(model_dir, ["fp32"], args, exact_requests, 1, peer)
            runs.update(exact_runs)
    reference = exact_scores["itprobe:fp32"]
    for name, other in exact_scores.items():  # every fp32 setting against exact itprobe
        if name != "itprobe:fp32":
            runs[name]["vs_itprobe_fp32"] = agreement(reference, other)
    index = {(r.task, r.id): i for i, r in enumerate(requests)}
    rows = [index[(r.task, r.id)] for r in exact_requests]
    for name in runs:  # how far the fast modes (bf16, int8) move each tool from exact itprobe
        if not name.endswith(":fp32") and name in scores:
            runs[name]["vs_itprobe_fp32"] = agreement(reference, [scores[name][i] for i in rows])
    flops = benchlib.count_flops(settings[f"itprobe:{speed_precision}"])
    fastest = {  # per instance: the fp32 round may cover fewer instances than the speed rounds
        tool: min((s for s in runs if s.startswith(tool)), key=lambda s: 1 / runs[s]["items_per_s"])
        for tool in tools
    }
    info["load_average_after"] = benchlib.load_average()
    info["matmul_peak_gflops"] = peak
    speed_itprobe = runs[f"itprobe:{speed_precision}"]

    def ratio(baseline: str, precision: str) -> float | None:
        if f"{baseline}:{precision}" not in runs:
            return None
        return round(
            runs[f"{baseline}:{precision}"]["median_seconds"]
            / runs[f"itprobe:{precision}"]["median_seconds"],
            3,
        )

    result = {
        "benchmark": "rank classification: itprobe score_choices vs lm-evaluation-harness HFLM.loglikelihood and CTranslate2 score_batch",
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
        "speedup": ratio("harness", speed_precision),
        "speedup_fp32": ratio("harness", "fp32"),
        "agreement": runs.get("harness:fp32", {}).get("vs_itprobe_fp32"),
        "flops_itprobe": flops,
        "mfu": {"rank": benchlib.mfu(flops, speed_itprobe["median_seconds"], peak[speed_precision])},
        **ctranslate2_summary(peer, runs),
    }
    benchlib.emit(result, args.out)


if __name__ == "__main__":
    sys.exit(main())
