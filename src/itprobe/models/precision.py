"""Choosing the compute dtype: bf16 where the hardware runs it fast, fp32 otherwise.

The rule for ``precision="auto"`` (documented in docs/performance.md):

- CUDA: bf16 when ``torch.cuda.is_bf16_supported()`` (Ampere and newer), else fp32.
- CPU: bf16 when ``/proc/cpuinfo`` lists ``amx_bf16`` or ``avx512_bf16`` (oneDNN then runs bf16 matmuls
  natively; on this project's reference CPU bf16 reaches about 2 TFLOP/s against 0.3 in fp32), else fp32,
  because emulated bf16 is slower than fp32 and less exact.
- anything else (MPS, ...): fp32.

``"fp32"``, ``"bf16"`` and ``"fp16"`` force the dtype; ``"fp32"`` is the exact mode the agreement tests and
the batch-size invariance guarantee are stated for.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from itprobe.errors import UserError

if TYPE_CHECKING:
    import torch

Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
TrainPrecision = Literal["auto", "fp32", "bf16"]  # training: fp16 has no loss scaling here
TRAIN_PRECISIONS: tuple[str, ...] = get_args(TrainPrecision)
CPU_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})
# the flags that decide how fast this CPU runs fp32/bf16 matmuls: named beside every timing
CPU_FLAGS_OF_INTEREST = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


@functools.lru_cache(maxsize=1)
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags of the first processor in ``cpuinfo`` (empty where the file is absent)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_name(cpuinfo: str = "/proc/cpuinfo") -> str | None:
    """The CPU's model name from ``cpuinfo`` (None where the file or the line is absent)."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        return None
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), None)


def cpu_line() -> str:
    """The CPU's name and its flags of interest (`CPU_FLAGS_OF_INTEREST`), e.g. for a plan's header."""
    flags = [f for f in CPU_FLAGS_OF_INTEREST if f in cpu_flags()]
    return f"{cpu_name() or 'unknown CPU'}, flags: {' '.join(flags) or 'none of ' + '/'.join(CPU_FLAGS_OF_INTEREST)}"


def load_average() -> list[float]:
    """The 1/5/15-minute load average now (empty where the OS has none): a timing on a loaded machine is
    not an idle one."""
    import os

    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def machine_stamp() -> dict[str, object]:
    """Where a timing was taken, to store beside it: the CPU line, torch's thread count, the load average."""
    import torch

    return {"cpu": cpu_line(), "threads": torch.get_num_threads(), "load_average": load_average()}


def cpu_has_fast_bf16(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU executes bf16 matmuls natively (AMX or AVX-512-BF16)."""
    return bool((cpu_flags() if flags is None else flags) & CPU_BF16_FLAGS)


def resolve_precision(
    precision: str, device: str | torch.device, *, cpu_flag_set: frozenset[str] | None = None
) -> torch.dtype:
    """The torch dtype for ``precision`` on ``device`` (see the module docstring for the ``auto`` rule).

    Args:
        precision: one of ``auto``, ``fp32``, ``bf16``, ``fp16``.
        device: the device the model will run on.
        cpu_flag_set: CPU flags to use instead of reading /proc/cpuinfo (for tests).

    Raises:
        UserError: for an unknown precision name.
    """
    import torch

    forced = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision in forced:
        return forced[precision]
    if precision != "auto":
        raise UserError(f"unknown precision '{precision}'; choose one of {', '.join(PRECISIONS)}")
    kind = torch.device(device).type
    if kind == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32
    if kind == "cpu" and cpu_has_fast_bf16(cpu_flag_set):
        return torch.bfloat16
    return torch.float32


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
