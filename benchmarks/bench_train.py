"""Training throughput: itprobe vs a plain Hugging Face `Trainer` SFT baseline (not a test).

Same packaged model (smollm2-135m-instruct, fp32 weights), same data (Tk-Instruct prompts of the first
``--tasks`` NatInst train tasks in ../shared/data/natinst, one seeded instance each, tokenized once by
`itprobe.training.data`), same batch size, same optimizer settings (AdamW, constant LR 5e-5, clip 1.0).

Phases, each in its own subprocess (so peak RSS is per phase):

- ``baseline``: `Trainer` with its default random sampler, padding to the longest in the batch
  (`DataCollatorForSeq2Seq`), full-vocabulary logits, prompt labels -100, fp32.
- ``itprobe``: `itprobe.train.train` with its defaults (length-grouped batches, logits at target positions
  only, ``precision=auto``).
- ``itprobe-fp32`` and ``baseline-same-order``: both in fp32 on identical batches (the baseline's sampler
  replays itprobe's batch plan), to check that the per-step losses agree.

Throughput counts non-padding tokens (prompt + target) per second, excluding the first (warm-up) step.
MFU = tokens/s × 6·N (N = parameters, the tied embedding counted once; attention-score FLOPs ignored)
divided by the machine's measured dense matmul peak (bf16 peak for bf16 runs, fp32 otherwise).

    .venv/bin/python benchmarks/bench_train.py            # a few minutes
    .venv/bin/python benchmarks/bench_train.py --steps 6 --tasks 64 --threads 2

``--threads`` defaults to 1: on a shared, oversubscribed machine OpenMP's spinning threads made a
SmolLM2 step 4-10× slower with 2 threads than with 1. On an idle machine pass the core count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NATINST = ROOT.parent / "shared" / "data" / "natinst" / "train_tasks.jsonl.gz"
RESULT = ROOT / "benchmarks" / "results" / "bench_train.json"
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


def _best(step_seconds: list[float], step_tokens: list[int]) -> float:
    """The fastest step's tokens per second (first step excluded): robust to load from other processes."""
    pairs = list(zip(step_seconds, step_tokens, strict=True))
    pairs = pairs[1:] if len(pairs) > 1 else pairs
    return max(t / s for s, t in pairs)


def phase_itprobe(tasks_file: Path, args: argparse.Namespace, precision: str) -> dict[str, Any]:
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
        result = train(config, load_tasks(tasks_file), progress=False, on_step=on_step)
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


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two rounds of one system: per step, the faster of the two (the batches are the same)."""
    faster = [min(x, y) for x, y in zip(a["step_seconds"], b["step_seconds"], strict=True)]
    merged = {**a, "step_seconds": faster, "peak_rss_mib": max(a["peak_rss_mib"], b["peak_rss_mib"])}
    merged["tokens_per_s"] = _timed(faster, a["step_tokens"])
    merged["phase_wall_s"] = a["phase_wall_s"] + b["phase_wall_s"]
    return merged


def matmul_peak(n: int = 2048, reps: int = 5) -> dict[str, float]:
    """Best dense n×n×n matmul throughput in fp32 and bf16 (GFLOP/s) with torch's thread setting."""
    import torch

    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        a @ b
        best = min(_time(lambda a=a, b=b: a @ b) for _ in range(reps))
        out[name] = 2 * n**3 / best / 1e9
    return out


def _time(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine() -> dict[str, Any]:
    import torch

    from itprobe.models.precision import cpu_flags

    model_name = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    flags = cpu_flags()
    return {
        "cpu": model_name,
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "bf16_flags": sorted(flags & {"amx_bf16", "avx512_bf16"}),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "load_average_start": os.getloadavg(),
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
    print(
        f"[bench_train] {phase}: {data['tokens_per_s']:.1f} tok/s, losses {data['losses']}", file=sys.stderr
    )
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
    parser.add_argument("--rounds", type=int, default=1, help="repeat the speed pair, keep the faster steps")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--tasks-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--phase-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--order", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-save", action="store_true", help="do not write benchmarks/results/bench_train.json"
    )
    args = parser.parse_args()
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
    else:
        data = phase_itprobe(args.tasks_file, args, "fp32" if args.phase == "itprobe-fp32" else "auto")
    args.phase_out.write_text(json.dumps(data))


def run_all(args: argparse.Namespace) -> None:
    from itprobe.models.precision import resolve_precision
    from itprobe.tasks import load_tasks, save_tasks

    if not NATINST.exists():
        sys.exit(f"bench_train: {NATINST} is absent")
    info = machine()
    peak = matmul_peak()
    with tempfile.TemporaryDirectory() as tmp:
        tasks_file = Path(tmp) / "bench_tasks.jsonl"  # a temporary subset, never inside the project
        save_tasks(load_tasks(NATINST)[: args.tasks], tasks_file)
        # speed pair first, then the fp32 parity pair; each pair back to back so load drifts less between them
        baseline = _subprocess("baseline", tasks_file, args)
        itprobe = _subprocess("itprobe", tasks_file, args)
        for _ in range(args.rounds - 1):  # more rounds: keep each system's fastest steps
            baseline = _merge(baseline, _subprocess("baseline", tasks_file, args))
            itprobe = _merge(itprobe, _subprocess("itprobe", tasks_file, args))
        order = Path(tmp) / "order.json"
        order.write_text(json.dumps(itprobe.pop("plan")))  # the plan does not depend on precision
        same = _subprocess("baseline-same-order", tasks_file, args, order)
        fp32 = _subprocess("itprobe-fp32", tasks_file, args)
        fp32.pop("plan")
    auto_dtype = "bf16" if str(resolve_precision("auto", "cpu")) == "torch.bfloat16" else "fp32"
    n_params = 134_515_008  # SmolLM2-135M, tied embedding counted once

    def mfu(tps: float, dtype: str) -> float:
        return round(tps * 6 * n_params / (peak[dtype] * 1e9), 4)

    rel = [abs(a - b) / abs(b) for a, b in zip(fp32["losses"], same["losses"], strict=False)]
    for phase in (baseline, same, fp32, itprobe):
        phase["best_step_tokens_per_s"] = _best(phase["step_seconds"], phase["step_tokens"])
    report = {
        "benchmark": "bench_train",
        "machine": {**info, "load_average_end": os.getloadavg(), "matmul_peak_gflops": peak},
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
            "auto_precision": auto_dtype,
            "timed_steps": "all but the first",
        },
        "baseline": {**baseline, "mfu": mfu(baseline["tokens_per_s"], "fp32")},
        "baseline_same_order": {**same, "mfu": mfu(same["tokens_per_s"], "fp32")},
        "itprobe_fp32": {**fp32, "mfu": mfu(fp32["tokens_per_s"], "fp32")},
        "itprobe": {**itprobe, "mfu": mfu(itprobe["tokens_per_s"], auto_dtype)},
        "loss_parity_fp32": {
            "itprobe": fp32["losses"],
            "baseline": same["losses"],
            "max_relative_difference": max(rel) if rel else None,
        },
        "speedup_mean_fp32_same_batches": round(fp32["tokens_per_s"] / same["tokens_per_s"], 3),
        "speedup_best_step_fp32_same_batches": round(
            fp32["best_step_tokens_per_s"] / same["best_step_tokens_per_s"], 3
        ),
        "speedup_mean": round(itprobe["tokens_per_s"] / baseline["tokens_per_s"], 3),
        # headline: fastest step of each (the machine is shared; see docs/training.md)
        "speedup": round(itprobe["best_step_tokens_per_s"] / baseline["best_step_tokens_per_s"], 3),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if not args.no_save:
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(text + "\n")


if __name__ == "__main__":
    main()
