"""`itprobe run CONFIG --plan`: every cell of a study, what it trains and evaluates, and what it will cost,
before any model time is spent.

Training and prompt passes are counted as floating-point work from token counts (the prompts are encoded
with the model's tokenizer; `itprobe.models.model_size` counts parameters on the ``meta`` device) divided
by this machine's measured dense-matmul rate (a one-second probe) times an efficiency per workload
(`EFFICIENCY`, from the benchmarks' MFU figures). Greedy decoding is not compute-bound at a few rows (a
step reads every weight for a handful of tokens), so a FLOP count says little about it: the plan loads the
model once and **times decode steps** of ``eval.batch_size`` rows on a real test prompt (`measure_decode`,
a few seconds), and counts every row at the protocol's token cap (an upper bound: a tuned model that stops
after its label decodes far fewer). Once a run has finished cells, each kind's estimate (trained, untuned)
is scaled by measured/estimated over its finished cells (`StudyPlan.calibration`): on this machine and this
study, which also replaces the cap by what the models actually generate. An estimate is a planning figure,
not a promise: the probes measure the machine as it is now (a busy machine gives slow probes and a
pessimistic plan), and the plan names the CPU, its flags, the precision and the rates it assumed.

Work per token, for a model with ``P`` non-embedding parameters and an output projection of ``V × H``:
training ``6P`` (LoRA: ``4P``, no weight gradients for frozen weights) plus ``6VH`` per target token;
prompt encoding ``2P`` per token (the prefix that a task's instances share runs once per batch, so only
the instance part counts, plus one prefix per task and batch) plus ``2VH`` per scored position; greedy
decoding (when the decode probe could not run: a served model) ``2(P + VH)`` per new token, with the cap
taken as the number of new tokens (an upper bound).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from itprobe.arms import apply_arms_to_tasks
from itprobe.decoding import Decoding
from itprobe.models import ModelSize, model_size, open_model, open_tokenizer
from itprobe.models.loading import spec_identity
from itprobe.models.precision import cpu_line, resolve_precision
from itprobe.prompts import Prompt, encode_task
from itprobe.study.config import ArmConfig, StudyConfig
from itprobe.study.data import StudyData, load_study_data
from itprobe.study.grid import Cell, expand_grid, select_shard
from itprobe.study.progress import train_examples
from itprobe.study.store import STORE_NAME, ResultsStore
from itprobe.tasks.types import Task

# share of the measured matmul rate each workload reaches in fp32 on a 2-core CPU: prompt passes 0.65-0.75
# and training ~0.8 of peak in benchmarks/results (docs/performance.md), discounted for what those counts
# leave out (padding, label passes, optimizer); decode steps are small matmuls plus cache bookkeeping
EFFICIENCY = {"train": 0.55, "encode": 0.6, "decode": 0.3}


@dataclass(frozen=True)
class EvalPass:
    test_arm: str
    mode: str
    instances: int
    suffix_tokens: int  # prompt tokens that are not the task's shared prefix
    prefix_tokens: int  # one shared prefix per task and batch
    flops: float
    batches: int = 0  # prompt batches (a task's instances in batches of eval.batch_size)
    decode_flops: float = 0.0  # the part of ``flops`` that is decoding
    cap: int = 0  # generation: the protocol's new-token cap (0: no decoding)

    @property
    def decode_steps(self) -> int:
        """Decode steps with one batch per step and every row at the cap."""
        return self.batches * self.cap


@dataclass(frozen=True)
class CellPlan:
    cell: Cell
    done: bool
    train_examples: int
    train_tokens: int
    train_flops: float
    passes: tuple[EvalPass, ...]

    @property
    def flops(self) -> float:
        return self.train_flops + sum(p.flops for p in self.passes)


@dataclass(frozen=True)
class DecodeProbe:
    """Greedy decode steps timed with the study's model on this machine (`measure_decode`)."""

    rows: int  # rows per step (eval.batch_size)
    steps: int  # decode steps timed
    step_seconds: float  # seconds per step of ``rows`` rows
    prompt_tokens: int  # length of the prompt the rows continue

    def steps_of(self, p: EvalPass) -> int:
        """Decode steps of pass ``p`` with every row at the cap: one per batch and token, or, where the
        engine pools rows of several batches (``rows`` above the batch size), one per pool and token."""
        if p.decode_steps == 0 or p.batches == 0:
            return p.decode_steps
        return min(p.decode_steps, math.ceil(p.instances / self.rows) * p.cap)

    def describe(self) -> str:
        return (
            f"decode measured: {self.step_seconds:.3f} s per step of {self.rows} rows "
            f"({self.rows / self.step_seconds:.1f} new tokens/s; {self.steps} steps after a "
            f"{self.prompt_tokens}-token test prompt)"
        )


@dataclass(frozen=True)
class PromptBudget:
    """What the prompt token budget did to one set of prompts (a test arm, or the training prompts of a
    size): how many there are, how many lost demonstrations to fit, how many were still cut."""

    prompts: int = 0
    fewer_examples: int = 0
    cut: int = 0

    @classmethod
    def of(cls, prompts: Sequence[Prompt]) -> PromptBudget:
        return cls(len(prompts), sum(p.examples_left_out > 0 for p in prompts), sum(p.cut for p in prompts))


@dataclass(frozen=True)
class StudyPlan:
    cells: tuple[CellPlan, ...]
    size: ModelSize
    matmul_flops: float  # measured on this machine, in the evaluation precision
    precision: str
    measured: dict[str, float] = field(default_factory=dict)  # cell id -> seconds it took (the store's)
    decode: DecodeProbe | None = None  # timed decode steps; None: decoding counted as FLOPs
    cpu: str = ""  # the CPU and its flags of interest, as the plan names them
    # what `prompt.max_source_tokens` did, per test arm ("test <arm>", its first seed) and training size
    # ("training n=<k>", the prompts of the first instances per task)
    budget: dict[str, PromptBudget] = field(default_factory=dict)
    max_source_tokens: int | None = None

    def calibration(self, kind: str) -> tuple[float, int]:
        """(measured / estimated seconds over this run's finished cells of ``kind``, how many): what the
        cost model misses on this machine and this study (the generation cap, load, efficiency)."""
        done = [cp for cp in self.cells if cp.cell.kind == kind and cp.cell.id in self.measured]
        estimated = sum(self._estimate(cp) for cp in done)
        if not done or estimated <= 0:
            return 1.0, 0
        return sum(self.measured[cp.cell.id] for cp in done) / estimated, len(done)

    def seconds(self, cell: CellPlan) -> float:
        """The measured time of a finished cell, else the estimate calibrated on finished cells of its kind."""
        if cell.cell.id in self.measured:
            return self.measured[cell.cell.id]
        return self._estimate(cell) * self.calibration(cell.cell.kind)[0]

    def _estimate(self, cell: CellPlan) -> float:
        rate = self.matmul_flops
        train = cell.train_flops / (rate * EFFICIENCY["train"])
        evals = 0.0
        for p in cell.passes:
            evals += (p.flops - p.decode_flops) / (rate * EFFICIENCY["encode"])
            if self.decode is not None:
                evals += self.decode.steps_of(p) * self.decode.step_seconds
            else:
                evals += p.decode_flops / (rate * EFFICIENCY["decode"])
        return train + evals

    def render(self) -> str:
        lines = [
            f"model: {self.size.body_params / 1e6:.0f}M non-embedding + {self.size.head_params / 1e6:.0f}M "
            f"output-projection parameters; this machine's {self.precision} matmul rate: "
            f"{self.matmul_flops / 1e9:.0f} GFLOP/s",
            *([f"CPU: {self.cpu}"] if self.cpu else []),
            *([self.decode.describe()] if self.decode is not None else []),
            "",
            f"{'cell':<26} {'status':<6} {'trains on':>19}  {'evaluates (test arms x modes)':<40} {'est.':>6}",
        ]
        todo = 0.0
        for cp in self.cells:
            trains = f"{cp.train_examples} ex, {cp.train_tokens / 1e3:.0f}k tok" if cp.train_examples else "-"
            arms = "+".join(dict.fromkeys(p.test_arm for p in cp.passes))
            modes = ",".join(dict.fromkeys(p.mode for p in cp.passes))
            evals = f"{arms} x {modes}" if cp.passes else "baseline (no model)"
            seconds = self.seconds(cp)
            todo += 0.0 if cp.done else seconds
            status = "done" if cp.done else "todo"
            took = " (took)" if cp.cell.id in self.measured else ""
            lines.append(f"{cp.cell.name:<26} {status:<6} {trains:>19}  {evals:<40} {_hms(seconds):>6}{took}")
        passes = [p for cp in self.cells for p in cp.passes]
        n_eval = max((p.instances for p in passes), default=0)
        tokens = max((p.suffix_tokens + p.prefix_tokens for p in passes), default=0)
        lines += [
            "",
            f"{sum(not c.done for c in self.cells)} of {len(self.cells)} cells to run; {len(passes)} evaluation "
            f"passes of {n_eval} test instances (up to {tokens / 1e3:.0f}k prompt tokens each, shared "
            "prefixes counted once per batch)",
            f"estimated time left on this machine: {_hms(todo)} ({self._basis()})",
            *self._budget_lines(),
        ]
        return "\n".join(lines)

    def _budget_lines(self) -> list[str]:
        """The prompt budget's effect: a cut prompt loses its end (the input's end and "Output:"), which a
        causal model then continues instead of answering; a choice of the evaluator, so counted here."""
        if self.max_source_tokens is None or not self.budget:
            return []
        shown = [
            f"  {name}: {b.cut:,} of {b.prompts:,} cut, {b.fewer_examples:,} with fewer demonstrations than asked"
            for name, b in self.budget.items()
        ]
        return [
            f"prompt budget {self.max_source_tokens} tokens (prompt.max_source_tokens): demonstrations are "
            "left out to fit it, then a prompt still over it is cut (its end and 'Output:' lost)",
            *shown,
        ]

    def _basis(self) -> str:
        kinds = [(k, *self.calibration(k)) for k in ("trained", "untuned")]
        used = [f"{n} {k} cell{'s' if n > 1 else ''}: measured/estimated {f:.2f}" for k, f, n in kinds if n]
        if not used:
            return "every generated row counted at the token cap, an upper bound; no finished cell to calibrate on yet"
        return "calibrated on this run's finished cells (" + "; ".join(used) + "); other kinds uncalibrated"


def _hms(seconds: float) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def matmul_rate(dtype: Any, seconds: float = 1.0) -> float:
    """Dense matmul FLOP/s of this machine in ``dtype`` (square 1024 matrices, best of a short loop)."""
    import torch

    n = 1024
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        tick = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - tick))
    return best


def _prompt_tokens(
    tasks: Sequence[Task], config: StudyConfig, tokenizer: Any, k: int | None
) -> tuple[list[int], list[Prompt]]:
    prompts = [p for t in tasks for p in encode_task(t, config.prompt, tokenizer, k)]
    return [len(tokenizer(p.text)["input_ids"]) for p in prompts], prompts


def _prompt_split(
    tasks: Sequence[Task], config: StudyConfig, tokenizer: Any
) -> tuple[tuple[int, int, int, int], list[Prompt]]:
    """(instances, suffix tokens, shared-prefix tokens, batches) as the engine batches them: a task's
    instances in batches of ``eval.batch_size``, the prefix that a batch shares once, each instance's
    remaining suffix; and the prompts."""
    from itprobe.models.prefix import common_prefix_length  # lazy: imports torch

    suffix = prefix = instances = batches = 0
    batch = config.eval.batch_size
    every: list[Prompt] = []
    for task in tasks:
        prompts = encode_task(task, config.prompt, tokenizer)
        every += prompts
        ids = [tokenizer(p.text.rstrip())["input_ids"] for p in prompts]
        instances += len(ids)
        for start in range(0, len(ids), batch):
            batches += 1
            rows = ids[start : start + batch]
            shared = common_prefix_length(rows) if len(rows) > 1 else 0
            prefix += shared
            suffix += sum(len(row) - shared for row in rows)
    return (instances, suffix, prefix, batches), every


def _eval_pass(
    split: tuple[int, int, int, int], arm: ArmConfig, mode: str, config: StudyConfig, size: ModelSize
) -> EvalPass:
    """The work of one evaluation pass over prompts counted by `_prompt_split`."""
    instances, suffix, prefix, batches = split
    flops = 2.0 * size.body_params * (suffix + prefix) + 2.0 * size.head_params * instances
    cap = config.eval.protocol().max_new_tokens if mode == "generate" else 0
    decode_flops = 2.0 * (size.body_params + size.head_params) * instances * cap
    return EvalPass(
        arm.name, mode, instances, suffix, prefix, flops + decode_flops, batches, decode_flops, cap
    )


def plan_study(
    config: StudyConfig,
    data: StudyData,
    cells: Sequence[Cell],
    done: set[str],
    tokenizer: Any,
    size: ModelSize,
) -> StudyPlan:
    """The plan of ``cells`` (``done``: ids already in the store)."""

    # prompts are tokenised once per (test arm, seed) and training prompts once per size: rank and generate
    # passes, and the arms trained at one size, share them
    splits: dict[tuple[ArmConfig, int], tuple[int, int, int, int]] = {}
    train_lengths: dict[int, list[int]] = {}
    budget: dict[str, PromptBudget] = {}
    plans = []
    for cell in cells:
        cell_passes: list[EvalPass] = []
        if cell.kind != "baseline":
            for arm in cell.test_arms:
                if (arm, cell.seed) not in splits:
                    tasks, _ = apply_arms_to_tasks(list(data.test), arm.to_spec(cell.seed))
                    splits[arm, cell.seed], prompts = _prompt_split(tasks, config, tokenizer)
                    budget.setdefault(f"test {arm.name}", PromptBudget.of(prompts))
                cell_passes += [
                    _eval_pass(splits[arm, cell.seed], arm, mode, config, size) for mode in cell.modes
                ]
        examples = tokens = 0
        train_flops = 0.0
        if cell.kind == "trained" and cell.size is not None:
            if cell.size not in train_lengths:
                train_lengths[cell.size], prompts = _prompt_tokens(data.train, config, tokenizer, cell.size)
                budget[f"training n={cell.size}"] = PromptBudget.of(prompts)
            lengths = train_lengths[cell.size]
            examples = train_examples(cell.size, config, data)  # the count the progress bar weighs too
            tokens = -(-examples * sum(lengths) // max(len(lengths), 1))  # examples × mean prompt, rounded up
            per_token = 4.0 if config.training.method == "lora" else 6.0
            targets = examples * config.training.max_target_tokens // 4  # answers are mostly short
            train_flops = per_token * size.body_params * (tokens + targets) + 6.0 * size.head_params * targets
        plans.append(CellPlan(cell, cell.id in done, examples, tokens, train_flops, tuple(cell_passes)))
    dtype = resolve_precision(config.eval.precision, "cpu")
    precision = str(dtype).removeprefix("torch.")
    return StudyPlan(
        tuple(plans), size, matmul_rate(dtype), precision,
        budget=budget, max_source_tokens=config.prompt.max_source_tokens,
    )  # fmt: skip


def plan_run(
    config: StudyConfig, run_dir: str | Path, shard: tuple[int, int] | None = None, *, measure: bool = True
) -> StudyPlan:
    """Load the data and the tokenizer and plan every cell (of ``shard``, as `run` would run them); cells
    already in ``run_dir``'s store are marked done. With ``measure``, and generation left to run, the model
    is loaded once to time its decode steps (`measure_decode`)."""
    data = load_study_data(config)
    _, identity = spec_identity(config.model)
    tokenizer = open_tokenizer(config.model)
    cells = expand_grid(
        config,
        model_identity=identity or config.model,
        train_digest=data.train_digest,
        test_digest=data.test_digest,
        held_out_digest=data.held_out_digest,
    )
    cells = select_shard(cells, shard)
    done: set[str] = set()
    measured: dict[str, float] = {}
    store_path = Path(run_dir) / STORE_NAME
    if store_path.exists():
        with ResultsStore(store_path) as store:
            done = set(store.done_cells())
            measured = {
                c.cell_id: c.timings["total"] for c in store.cells(with_rows=False) if "total" in c.timings
            }
    plan = plan_study(config, data, cells, done, tokenizer, model_size(config.model))
    decodes = any(p.decode_steps for cp in plan.cells if not cp.done for p in cp.passes)
    return dataclasses.replace(
        plan,
        measured={k: v for k, v in measured.items() if k in done},
        decode=measure_decode(config, data, tokenizer) if measure and decodes else None,
        cpu=cpu_line(),  # the timings above are this CPU's
    )


DECODE_PROBE_STEPS = 8


def measure_decode(config: StudyConfig, data: StudyData, tokenizer: Any) -> DecodeProbe | None:
    """Seconds per greedy decode step of as many rows as the engine steps at once (``eval.batch_size``, or
    its decode pool, `HFLanguageModel.pool_rows`, if larger), timed with the study's model, precision and
    batch size on the first test prompt: a 1-token call (the prompt pass) subtracted from a call of
    1 + `DECODE_PROBE_STEPS` tokens, after a warm-up call. EOS is the model's: the steps counted are those the
    longest row ran (from its answer's token count). None when nothing could be timed (no test prompt, a
    model without a tokenizer, or rows that all stop at once)."""
    if tokenizer is None or not data.test:
        return None
    prompt = encode_task(data.test[0], config.prompt, tokenizer)[0].text
    model = open_model(config.model, precision=config.eval.precision, batch_size=config.eval.batch_size)
    # as many rows as one decode step of the engine holds: its pool (rows of several batches) where it has one
    n_rows = max(config.eval.batch_size, getattr(model, "pool_rows", 0))
    rows = [prompt] * n_rows

    def timed(new_tokens: int) -> tuple[float, list[str]]:
        decoding = Decoding(new_tokens, ())
        tick = time.perf_counter()
        texts = model.generate(rows, decoding)
        return time.perf_counter() - tick, texts

    timed(1)  # warm-up: first-call allocations and kernel choices are not a step's cost
    first, _ = timed(1)
    total, texts = timed(1 + DECODE_PROBE_STEPS)
    steps = max((len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts), default=0) - 1
    if steps < 1:
        return None
    prompt_tokens = len(tokenizer(prompt)["input_ids"])
    step = max(total - first, 1e-6) / min(steps, DECODE_PROBE_STEPS)
    return DecodeProbe(n_rows, min(steps, DECODE_PROBE_STEPS), step, prompt_tokens)
