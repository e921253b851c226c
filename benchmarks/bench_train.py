"""Training throughput: itprobe against the Hugging Face ``Trainer`` at its best settings (not a test).

Same packaged model (smollm2-135m-instruct, fp32 weights), same data (Tk-Instruct prompts of the first
``--tasks`` NatInst train tasks in ../shared/data/natinst, one seeded instance each, tokenized once by
`itprobe.training.data`), same batch size, same optimizer settings (AdamW, constant LR 5e-5, clip 1.0).

Phases, each in its own subprocess (so peak RSS is per phase):

- ``baseline``: `Trainer` at its best settings for this hardware: length-grouped batches
  (``train_sampling_strategy="group_by_length"``, formerly ``group_by_length=True``), bf16 autocast (``bf16=True``) where the CPU runs bf16 natively, else fp32;
  padding to the longest in the batch (`DataCollatorForSeq2Seq`), full-vocabulary logits, prompt labels -100.
- ``itprobe``: `itprobe.train.train` with its defaults (length-grouped batches, logits at target positions
  only, ``precision=auto``: the same bf16 autocast where the CPU has it).
- ``baseline-same-order`` and ``itprobe-fp32``: both in fp32 on identical batches (the baseline's sampler
  replays itprobe's batch plan): the per-step losses must agree, and their speed ratio isolates itprobe's loop.
- ``itprobe-flops``: itprobe's defaults once more under torch's ``FlopCounterMode`` (untimed), for the MFU.

The four timed phases run interleaved for ``--rounds`` rounds (baseline, itprobe, baseline-same-order,
itprobe-fp32, baseline, ...); each round's figure is its tokens/s (non-padding tokens over all steps but the
first, the warm-up), and the headline ``speedup`` is the ratio of the medians, best against best in the same
precision. The fp32 identical-batches ratio (``speedup_fp32_identical_batches``) is printed beside it. MFU = FLOPs counted per token x median tokens/s / measured matmul peak of
the compute dtype (benchlib).

    .venv/bin/python benchmarks/bench_train.py            # about 9 minutes at load average 5 on 2 cores
    .venv/bin/python benchmarks/bench_train.py --full     # 64 tasks, 6 steps, batch 8

``--threads`` defaults to 1: on a shared, oversubscribed machine OpenMP's spinning threads made a
SmolLM2 step 4-10x slower with 2 threads than with 1. On an idle machine pass the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchlib

NATINST = benchlib.NATINST / "train_tasks.jsonl.gz"
RESULT = benchlib.RESULTS / "bench_train.json"
MODEL = "smollm2-135m-instruct"


def _examples(tasks_file: Path, args: argparse.Namespace, tokenizer: Any) -> list[Any]:
    from itprobe.prompts import PromptConfig
    from itprobe.tasks import load_tasks
    from itprobe.training.data import build_text_examples, tokenize_examples

    prompt = PromptConfig(num_pos=2, max_source_tokens=args.max_source_tokens)
    texts, _ = build_text_examples(
        load_tasks(tasks_file),
        arms=None,
        prompt=prompt,
        instances_per_task=1,
        seed=args.seed,
        tokenizer=tokenizer,
    )
    return tokenize_examples(
        texts, tokenizer, "causal", max_source_tokens=args.max_source_tokens, max_target_tokens=128
    )


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(step_seconds: list[float], step_tokens: list[int]) -> float:
    """Tokens per second over all steps but the first (warm-up)."""
    secs, toks = (step_seconds[1:], step_tokens[1:]) if len(step_seconds) > 1 else (step_seconds, step_tokens)
    return sum(toks) / sum(secs)


def phase_itprobe(
    tasks_file: Path, args: argparse.Namespace, precision: str, count: bool = False
) -> dict[str, Any]:
    from itprobe.models.packaged import packaged_model_dir
    from itprobe.prompts import PromptConfig
    from itprobe.tasks import load_tasks
    from itprobe.train import TrainConfig, train

    times: list[float] = []
    tokens: list[int] = []
    last = [0.0]

    def on_step(info: Any) -> None:
        times.append(info.seconds - last[0])
        last[0] = info.seconds
        tokens.append(info.tokens)

    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(
            out_dir=Path(out),
            model=str(packaged_model_dir(MODEL)),
            instances_per_task=1,
            prompt=PromptConfig(num_pos=2, max_source_tokens=args.max_source_tokens),
            batch_size=args.batch_size,
            max_steps=args.steps,
            precision=precision,  # type: ignore[arg-type]
            seed=args.seed,
            checkpoint_every=0,
            resume=False,
        )
        tasks = load_tasks(tasks_file)
        if count:
            flops = benchlib.count_flops(lambda: train(config, tasks, progress=False, on_step=on_step))
            return {"flops": flops, "tokens": sum(tokens), "flops_per_token": flops / sum(tokens)}
        result = train(config, tasks, progress=False, on_step=on_step)
    plan = _plan(tasks_file, args)
    return {
        "losses": list(result.losses),
        "tokens_per_s": _timed(times, tokens),
        "step_seconds": times,
        "step_tokens": tokens,
        "peak_rss_mib": _peak_rss_mib(),
        "plan": plan,
    }


def _plan(tasks_file: Path, args: argparse.Namespace) -> list[list[int]]:
    """itprobe's batch order for the run (one process, no accumulation), as example indices."""
    from transformers import AutoTokenizer

    from itprobe.models.packaged import packaged_model_dir
    from itprobe.training.batching import epoch_plan, steps_per_epoch

    tokenizer = AutoTokenizer.from_pretrained(packaged_model_dir(MODEL))
    examples = _examples(tasks_file, args, tokenizer)
    lengths = [ex.length for ex in examples]
    per_epoch = steps_per_epoch(len(examples), args.batch_size, 1)
    return [
        epoch_plan(lengths, args.batch_size, args.seed, s // per_epoch, 1)[s % per_epoch]
        for s in range(args.steps)
    ]


def phase_baseline(
    tasks_file: Path, args: argparse.Namespace, order: list[list[int]] | None
) -> dict[str, Any]:
    import torch
    from torch.utils.data import SequentialSampler
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    from itprobe.models.packaged import packaged_model_dir
    from itprobe.models.precision import cpu_has_fast_bf16

    best = order is None  # the speed phase: the Trainer's best settings; else fp32 on a given batch order
    folder = packaged_model_dir(MODEL)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    examples = _examples(tasks_file, args, tokenizer)
    rows = [
        {
            "input_ids": list(ex.source_ids + ex.target_ids),
            "labels": [-100] * len(ex.source_ids) + list(ex.target_ids),
        }
        for ex in examples
    ]
    if order is not None:  # replay itprobe's batches exactly
        rows = [rows[i] for batch in order for i in batch]
    pad = DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=-100)
    tokens: list[int] = []

    def collate(batch: list[dict[str, Any]]) -> Any:
        tokens.append(sum(len(row["input_ids"]) for row in batch))
        return pad(batch)

    class SameOrder(Trainer):
        def _get_train_sampler(self, *a: Any, **k: Any) -> Any:
            return SequentialSampler(self.train_dataset)

    times: list[float] = []
    losses: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times.append(time.perf_counter() - self.start)

        def on_log(self, _args: Any, _state: Any, _control: Any, logs: Any = None, **k: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    with tempfile.TemporaryDirectory() as out:
        targs = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=args.batch_size,
            max_steps=args.steps,
            learning_rate=5e-5,
            lr_scheduler_type="constant",
            warmup_steps=0,
            weight_decay=0.0,
            max_grad_norm=1.0,
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            seed=args.seed,
            dataloader_num_workers=0,
            disable_tqdm=True,
            train_sampling_strategy="group_by_length" if best else "random",
            bf16=best and cpu_has_fast_bf16(),
        )
        cls = SameOrder if order is not None else Trainer
        trainer = cls(model=model, args=targs, train_dataset=rows, data_collator=collate)
        trainer.add_callback(Clock())
        trainer.train()
    # the collator also runs for batches the sampler prefetches; keep one count per step
    tokens = tokens[: len(times)]
    return {
        "losses": losses,
        "tokens_per_s": _timed(times, tokens),
        "step_seconds": times,
        "step_tokens": tokens,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _subprocess(
    phase: str, tasks_file: Path, args: argparse.Namespace, extra: Path | None = None
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    argv = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--tasks-file",
        str(tasks_file),
        "--phase-out",
        str(result_path),
        "--steps",
        str(args.steps),
        "--batch-size",
        str(args.batch_size),
        "--max-source-tokens",
        str(args.max_source_tokens),
        "--seed",
        str(args.seed),
    ]
    if extra is not None:
        argv += ["--order", str(extra)]
    started = time.perf_counter()
    subprocess.run(argv, check=True, env=env, stdout=sys.stderr)  # keep stdout for the JSON report
    data = json.loads(result_path.read_text())
    data["phase_wall_s"] = round(time.perf_counter() - started, 1)
    result_path.unlink()
    print(f"[bench_train] {phase}: {data.get('tokens_per_s', 0):.1f} tok/s", file=sys.stderr)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tasks", type=int, default=32, help="first N NatInst train tasks, one instance each"
    )
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-source-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads per phase")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the speed pair")
    parser.add_argument("--full", action="store_true", help="64 tasks, 6 steps, batch 8")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--tasks-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--phase-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--order", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULT, help="where to write the JSON")
    parser.add_argument("--no-save", action="store_true", help="do not write the JSON file")
    args = parser.parse_args()
    if args.full:
        args.tasks, args.steps, args.batch_size = 64, 6, 8
    import torch

    torch.set_num_threads(args.threads)
    if args.phase:
        run_phase(args)
        return
    run_all(args)


def run_phase(args: argparse.Namespace) -> None:
    if args.phase == "baseline":
        data = phase_baseline(args.tasks_file, args, None)
    elif args.phase == "baseline-same-order":
        data = phase_baseline(args.tasks_file, args, json.loads(args.order.read_text()))
    elif args.phase == "itprobe-flops":
        data = phase_itprobe(args.tasks_file, args, "auto", count=True)
    else:
        data = phase_itprobe(args.tasks_file, args, "fp32" if args.phase == "itprobe-fp32" else "auto")
    args.phase_out.write_text(json.dumps(data))


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """A setting's rounds: tokens/s of each, their median, and the last round's losses and memory."""
    rates = [r["tokens_per_s"] for r in rounds]
    return {
        "tokens_per_s_per_round": [round(x, 2) for x in rates],
        "median_tokens_per_s": round(statistics.median(rates), 2),
        "spread": round((max(rates) - min(rates)) / statistics.median(rates), 3),
        "step_seconds_last_round": [round(x, 3) for x in rounds[-1]["step_seconds"]],
        "step_tokens": rounds[-1]["step_tokens"],
        "losses_last_round": rounds[-1]["losses"],
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in rounds)),
        "phase_wall_s": [r["phase_wall_s"] for r in rounds],
    }


def run_all(args: argparse.Namespace) -> None:
    from itprobe.models.precision import resolve_precision
    from itprobe.tasks import load_tasks, save_tasks

    if not NATINST.exists():
        sys.exit(f"bench_train: {NATINST} is absent")
    info = benchlib.machine()
    peak = benchlib.matmul_peak()
    auto_dtype = "bf16" if str(resolve_precision("auto", "cpu")) == "torch.bfloat16" else "fp32"
    with tempfile.TemporaryDirectory() as tmp:
        tasks_file = Path(tmp) / "bench_tasks.jsonl"  # a temporary subset, never inside the project
        save_tasks(load_tasks(NATINST)[: args.tasks], tasks_file)
        order = Path(tmp) / "order.json"
        order.write_text(json.dumps(_plan(tasks_file, args)))  # itprobe's batch plan, for the fp32 pair
        phases = ("baseline", "itprobe", "baseline-same-order", "itprobe-fp32")
        runs: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
        for _ in range(args.rounds):  # interleaved: the four phases in turn, round after round
            for phase in phases:
                extra = order if phase == "baseline-same-order" else None
                runs[phase].append(_subprocess(phase, tasks_file, args, extra))
        counted = _subprocess("itprobe-flops", tasks_file, args)
    for data in (*runs["itprobe"], *runs["itprobe-fp32"]):
        data.pop("plan")
    baseline, itprobe = _summary(runs["baseline"]), _summary(runs["itprobe"])
    same, fp32 = _summary(runs["baseline-same-order"]), _summary(runs["itprobe-fp32"])
    losses_fp32, losses_same = runs["itprobe-fp32"][-1]["losses"], runs["baseline-same-order"][-1]["losses"]
    rel = [abs(a - b) / abs(b) for a, b in zip(losses_fp32, losses_same, strict=False)]
    itprobe["mfu"] = round(
        itprobe["median_tokens_per_s"] * counted["flops_per_token"] / (peak[auto_dtype] * 1e9), 4
    )
    report = {
        "benchmark": "bench_train: itprobe vs Hugging Face Trainer at its best settings",
        "machine": {**info, "load_average_after": benchlib.load_average(), "matmul_peak_gflops": peak},
        "settings": {
            "model": MODEL,
            "tasks": args.tasks,
            "instances_per_task": 1,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "max_source_tokens": args.max_source_tokens,
            "lr": 5e-5,
            "threads": args.threads,
            "rounds": args.rounds,
            "precision": auto_dtype,
            "baseline": f"Trainer, train_sampling_strategy=group_by_length, bf16={auto_dtype == 'bf16'}",
            "timed_steps": "all but the first",
        },
        "baseline": baseline,
        "itprobe": itprobe,
        "baseline_fp32_identical_batches": same,
        "itprobe_fp32_identical_batches": fp32,
        "flops": counted,
        "speedup": round(itprobe["median_tokens_per_s"] / baseline["median_tokens_per_s"], 3),
        "speedup_fp32_identical_batches": round(fp32["median_tokens_per_s"] / same["median_tokens_per_s"], 3),
        "agreement": {"max_relative_loss_difference_fp32": float(f"{max(rel):.3g}") if rel else None},
        "mfu": {"training": itprobe["mfu"]},
    }
    benchlib.emit(report, None if args.no_save else args.out)


if __name__ == "__main__":
    main()
