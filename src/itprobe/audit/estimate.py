"""Know the cost before paying it: ``itprobe audit --plan`` (probes × modes × instances and a rough time on
this CPU, without loading any weights) and the model SPEC check that answers an unknown alias with the list
of aliases instead of a network error (docs/audit.md, "Before a long run").

The time is a rough figure (±2×), stated as such: the forward passes' FLOPs (2 × parameters × tokens; the
tokens of a prompt estimated as characters / 4; generation counts each new token as `DECODE_COST` prompt
tokens, since decoding one token at a time is memory-bound on a CPU) divided by a matrix-multiply speed
measured here for a fraction of a second, at `EFFICIENCY` of it. The parameters come from the packaged
alias's name or a local directory's ``config.json``; for a Hugging Face id or a served model only the counts
are given.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from itprobe.audit.probes import plan_of
from itprobe.decoding import DEFAULT_MAX_NEW_TOKENS
from itprobe.errors import UserError
from itprobe.models.backends import backend_of
from itprobe.models.packaged import PACKAGED
from itprobe.prompts import encode_task

DECODE_COST = 10.0  # one generated token costs about this many prompt tokens on a CPU (memory-bound)
# share of the measured matmul speed a forward pass reaches (set so that the SmolLM2 audits of docs/audit.md,
# about 9 s per NatInst generation on this project's loaded 2-core CPU, come out within 2x)
EFFICIENCY = 0.8
CHARS_PER_TOKEN = 4.0
FAST_PROBES = ("original", "simplified", "empty", "baselines")
FAST_INSTANCES = 20


def check_model_spec(spec: str) -> None:
    """A `UserError` listing the packaged aliases when ``spec`` is neither a Hugging Face id of the form
    ``org/name`` nor a SPEC of a registered backend other than the hub's catch-all (an alias, a directory, a
    served or a ``fake:`` model): a mistyped alias would otherwise go to the network."""
    if "/" in spec or backend_of(spec).scheme != "hf":
        return
    raise UserError(
        f"unknown model alias {spec!r}; packaged aliases: {', '.join(PACKAGED)} (a Hugging Face id has the "
        "form org/name, a local model is a directory)"
    )


def model_parameters(spec: str) -> float | None:
    """The model's parameter count without loading it, or None when the SPEC does not say (see module doc)."""
    if spec in PACKAGED:
        found = re.search(r"(\d+(?:\.\d+)?)([mb])\b", spec)
        return float(found.group(1)) * (1e6 if found.group(2) == "m" else 1e9) if found else None
    config = Path(spec).expanduser() / "config.json"
    if not config.is_file():
        return None
    c: dict[str, Any] = json.loads(config.read_text(encoding="utf-8"))
    c = c.get("text_config", c)
    d = c.get("hidden_size") or c.get("d_model") or c.get("n_embd")
    layers = c.get("num_hidden_layers") or c.get("num_layers") or c.get("n_layer")
    vocab = c.get("vocab_size")
    if not (d and layers and vocab):
        return None
    decoder = c.get("num_decoder_layers", 0) if c.get("is_encoder_decoder") else 0
    return float(12 * (layers + decoder) * d * d + vocab * d)


def matmul_gflops(seconds: float = 0.2) -> float:
    """A float32 matrix-multiply speed measured on this machine (GFLOP/s)."""
    n = 1024  # large enough for the BLAS to use every core, as a model's matmuls do
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ a
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


@dataclass(frozen=True)
class PassCost:
    probe: str
    mode: str
    instances: int
    tokens: float  # prompt-token equivalents (see module doc)


@dataclass(frozen=True)
class AuditEstimate:
    passes: tuple[PassCost, ...]
    parameters: float | None
    gflops: float

    @property
    def instances(self) -> int:
        return sum(p.instances for p in self.passes)

    @property
    def seconds(self) -> float | None:
        if self.parameters is None:
            return None
        tokens = sum(p.tokens for p in self.passes)
        return 2 * self.parameters * tokens / (self.gflops * 1e9 * EFFICIENCY)


def _tokens(text: str) -> float:
    return max(1.0, len(text) / CHARS_PER_TOKEN)


def estimate_audit(config: Any, tasks: Any, pool: Any, gflops: float | None = None) -> AuditEstimate:
    """The passes of ``config``'s audit on ``tasks`` with their token counts (no model is loaded)."""
    plan = plan_of(config, tasks, pool)
    passes = []
    for pss in plan.passes:
        tokens = 0.0
        for task in pss.tasks:
            labels = task.output_space.labels if task.output_space else ()
            for prompt in encode_task(task, config.prompt):
                if pss.mode == "rank":
                    tokens += _tokens(prompt.text) + sum(_tokens(label) for label in labels)
                else:
                    new = max((_tokens(lab) for lab in labels), default=DEFAULT_MAX_NEW_TOKENS) + 2
                    tokens += _tokens(prompt.text) + DECODE_COST * min(new, DEFAULT_MAX_NEW_TOKENS)
        passes.append(PassCost(pss.probe, pss.mode, pss.n_instances, tokens))
    return AuditEstimate(tuple(passes), model_parameters(config.model), gflops or matmul_gflops())


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown (the model's size is not known without loading it: give a packaged alias or a local directory)"
    if seconds < 90:
        return f"about {seconds:.0f} s"
    return f"about {seconds / 60:.0f} min" if seconds < 5400 else f"about {seconds / 3600:.1f} h"


def fast_preset(config: Any, tasks: Any) -> tuple[Any, str]:
    """A cheaper audit that still answers the headline question, and its options."""
    rank = any(t.is_classification for t in tasks)
    modes = ("rank",) if rank else ("generate",)
    n = min(FAST_INSTANCES, config.max_instances or FAST_INSTANCES)
    faster = dataclasses.replace(config, modes=modes, probes=FAST_PROBES, max_instances=n)
    return faster, f"--modes {modes[0]} --probes {','.join(FAST_PROBES)} --max-instances {n}"


def plan_lines(estimate: AuditEstimate, fast: AuditEstimate | None, fast_options: str) -> list[str]:
    """What ``itprobe audit --plan`` prints."""
    by_mode: dict[str, list[PassCost]] = {}
    for p in estimate.passes:
        by_mode.setdefault(p.mode, []).append(p)
    lines = [
        f"itprobe audit --plan: {len(estimate.passes)} passes, {estimate.instances} model calls (no weights loaded)"
    ]
    for mode, passes in by_mode.items():
        probes = ", ".join(f"{p.probe} ({p.instances})" for p in passes)
        lines.append(f"  {mode}: {sum(p.instances for p in passes)} calls: {probes}")
    size = f"{estimate.parameters / 1e6:.0f}M parameters" if estimate.parameters else "size unknown"
    lines.append(
        f"  estimated time on this CPU: {_duration(estimate.seconds)} (rough, ±2×; {size}, "
        f"{estimate.gflops:.0f} GFLOP/s measured)"
    )
    if fast is not None:
        lines.append(
            f"  faster: {fast_options}: {fast.instances} calls, {_duration(fast.seconds)}; it keeps the headline "
            "(reliance against simplified and empty, the controls)"
        )
    return lines


def audit_plan_lines(config: Any, tasks: Any, pool: Any) -> list[str]:
    """``itprobe audit --plan``: the estimate of ``config``'s audit and of the faster preset."""
    check_model_spec(config.model)
    gflops = matmul_gflops()
    estimate = estimate_audit(config, tasks, pool, gflops)
    faster, options = fast_preset(config, tasks)
    fast = estimate_audit(
        faster,
        [dataclasses.replace(t, instances=t.instances[: faster.max_instances]) for t in tasks],
        pool,
        gflops,
    )
    worth = fast.instances < 0.8 * estimate.instances  # a preset that saves little is not worth suggesting
    return plan_lines(estimate, fast if worth else None, options)
