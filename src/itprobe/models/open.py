"""`open_model`: the one place where a model SPEC becomes a `LanguageModel`, local or served.

``openai:BASE_URL#NAME`` reaches a server (`itprobe.models.served`); anything else is loaded in-process
(`itprobe.models.load_model` + `itprobe.models.hf.HFLanguageModel`). Training always needs local weights.
"""

from __future__ import annotations

from typing import Any

from itprobe.models.base import LanguageModel
from itprobe.models.endpoint import is_served
from itprobe.models.served import ServedOptions


def open_model(
    spec: str,
    *,
    precision: str = "auto",
    batch_size: int = 8,
    trust_remote_code: bool = False,
    device: Any = None,
    served: ServedOptions | None = None,
) -> tuple[LanguageModel, Any]:
    """(the model, its tokenizer for prompt budgets, or None for a served model without one).

    ``precision``, ``batch_size`` and ``device`` apply to local models; ``served`` to endpoints (the server
    decides precision and batching).
    """
    if is_served(spec):
        from itprobe.models.served import connect

        model = connect(spec, served or ServedOptions(trust_remote_code=trust_remote_code))
        return model, model.tokenizer
    from itprobe.models.hf import HFLanguageModel
    from itprobe.models.loading import load_model

    loaded = load_model(spec, precision=precision, trust_remote_code=trust_remote_code, device=device)
    return HFLanguageModel(loaded, batch_size=batch_size), loaded.tokenizer
