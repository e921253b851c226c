"""What the benchmarks share: the machine record, the measured matmul peak, interleaved rounds, FLOP
counting and the final JSON line.

Fairness rules (docs/performance.md): settings run interleaved (A B C A B C ...) for ``rounds`` rounds on
models loaded once, each setting's figure is its median round, and the load average is recorded before and
after, because the machines these run on are shared. MFU = matmul FLOPs executed (counted by torch's
``FlopCounterMode`` on one extra, untimed pass) / median seconds / the dense-matmul peak measured here for the
compute dtype.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from itprobe.models.precision import load_average  # the benchmarks call benchlib.load_average

STARTED = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
NATINST = ROOT.parent / "shared" / "data" / "natinst"
RESULTS = ROOT / "benchmarks" / "results"
T = TypeVar("T")


def machine() -> dict[str, Any]:
    """CPU model and flags (from /proc/cpuinfo), thread counts, library versions, load average now."""
    import torch
    import transformers

    from itprobe.models.precision import CPU_FLAGS_OF_INTEREST, cpu_flags, cpu_name

    name = cpu_name()
    flags = cpu_flags()
    return {
        "cpu": name or platform.processor(),
        "cpu_flags": [f for f in CPU_FLAGS_OF_INTEREST if f in flags],
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average_before": load_average(),
    }


def matmul_peak(sizes: tuple[int, ...] = (512, 1024, 2048), reps: int = 5) -> dict[str, float]:
    """Best dense n x n x n matmul rate (GFLOP/s) with torch's thread setting: fp32, and bf16 where the
    CPU runs it natively (`itprobe.models.precision.cpu_has_fast_bf16`)."""
    import torch

    from itprobe.models.precision import cpu_has_fast_bf16

    dtypes = {"fp32": torch.float32}
    if cpu_has_fast_bf16() or torch.cuda.is_available():
        dtypes["bf16"] = torch.bfloat16
    peak = {}
    for name, dtype in dtypes.items():
        best = 0.0
        for n in sizes:
            a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
            a @ b  # warm-up
            for _ in range(reps):
                start = time.perf_counter()
                a @ b
                best = max(best, 2 * n**3 / (time.perf_counter() - start) / 1e9)
        peak[name] = round(best, 1)
    return peak


def interleaved(
    settings: dict[str, Callable[[], T]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, T]]:
    """Run every setting once per round, in turn (A B C A B C ...); seconds per round and the last results."""
    seconds: dict[str, list[float]] = {name: [] for name in settings}
    results: dict[str, T] = {}
    for round_number in range(rounds):
        for name, run in settings.items():
            start = time.perf_counter()
            results[name] = run()
            seconds[name].append(round(time.perf_counter() - start, 3))
            print(f"round {round_number + 1}/{rounds} {name}: {seconds[name][-1]:.1f} s", file=sys.stderr)
    return seconds, results


def timing(seconds: list[float], items: int) -> dict[str, Any]:
    """Median, spread and throughput of one setting's rounds."""
    median = statistics.median(seconds)
    return {
        "items": items,
        "seconds_per_round": seconds,
        "median_seconds": round(median, 3),
        "spread": round((max(seconds) - min(seconds)) / median, 3),
        "items_per_s": round(items / median, 4),
    }


def count_flops(run: Callable[[], Any]) -> int:
    """Matmul and attention FLOPs executed by ``run()`` (linear layers, bmm, scaled-dot-product attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    _register_cpu_attention()
    with FlopCounterMode(display=False) as counter:
        run()
    return int(counter.get_total_flops())


def _register_cpu_attention() -> None:
    """torch counts the CUDA attention kernels only; count the CPU flash kernel the same way (every query
    against every key it is given: causal blocks it skips are counted, padding it masks is counted)."""
    import torch
    from torch.utils import flop_counter

    op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    if op in flop_counter.flop_registry or op.default in flop_counter.flop_registry:
        return

    @flop_counter.register_flop_formula(op)
    def _cpu_flash(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, **kwargs: Any) -> int:
        return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


def mfu(flops: int, seconds: float, peak_gflops: float) -> float:
    """Share of the measured peak: FLOPs executed / seconds / peak."""
    return round(flops / seconds / (peak_gflops * 1e9), 4)


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print the result as one JSON object (the last thing on stdout) and write it to ``out``; the wall time
    of the whole run (imports to here) is recorded as ``wall_seconds``."""
    result = {**result, "argv": sys.argv[1:], "wall_seconds": round(time.perf_counter() - STARTED, 1)}
    text = json.dumps(result, indent=2)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    print(text)
