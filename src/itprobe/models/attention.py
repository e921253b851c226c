"""Grouped-query attention without repeated key/value heads, for itprobe's own kernels on a CPU.

Models with fewer key/value heads than query heads (SmolLM2: 3 for 9, Gemma 3 270m: 1 for 4) reach
transformers' sdpa attention with a mask (padding, drafts). There, unless told otherwise, transformers copies
every key/value head ``groups`` times for every layer of every forward (``repeat_kv``), because CUDA's fast
kernels refuse grouped heads with a mask; only single-token steps avoid the copy (``pack_gqa``). torch's CPU
kernel takes grouped heads and a mask directly (``enable_gqa``, torch >= 2.5), and gives the same values
bit for bit (decode-step shapes of SmolLM2, fp32: 8 rows x 2 tokens on 530 cached columns, 32.9 ms per
layer repeated against 11.0 ms grouped on the loaded 2-core EPYC; a decode step reads the whole cache, so
this is most of a long decode's attention time).

`grouped_kv_heads` turns it on for the duration of a kernel, through transformers' own switch
(``TRANSFORMERS_SDPA_FORCE_GQA``), on CPU models only (on CUDA a mask with grouped heads falls back to the
slow math kernel) and never where the user set the switch themselves. transformers versions without the switch
ignore it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

SWITCH = "TRANSFORMERS_SDPA_FORCE_GQA"


def _torch_has_grouped_sdpa() -> bool:
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= (2, 5)


@contextmanager
def grouped_kv_heads(device: torch.device) -> Iterator[None]:
    """Within the block, sdpa attention on ``device`` reads grouped key/value heads without copying them."""
    if device.type != "cpu" or SWITCH in os.environ or not _torch_has_grouped_sdpa():
        yield
        return
    os.environ[SWITCH] = "1"
    try:
        yield
    finally:
        os.environ.pop(SWITCH, None)
