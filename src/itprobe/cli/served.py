"""Options shared by the commands that can evaluate a served model (``predict``, ``audit``).

A served model is the SPEC ``openai:BASE_URL#NAME`` (``--api-base`` / ``--api-model`` spell the same thing);
the other options say how to talk to it (see `itprobe.models.served`). The API key comes from
``$ITPROBE_API_KEY`` (else ``$OPENAI_API_KEY``), never from an option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from itprobe.models.endpoint import spec_from_options
from itprobe.models.served import ServedOptions

SPEC_HELP = (
    "Model SPEC: packaged alias, local directory, Hugging Face id, openai:BASE_URL#NAME (a server), or "
    "fake:first (no weights: ranks the first label, generates the first demonstration's output)."
)
ApiBase = Annotated[
    str | None,
    typer.Option(
        "--api-base",
        help="OpenAI-compatible API base, e.g. http://127.0.0.1:8000/v1 (same as --model openai:URL#NAME).",
    ),
]
ApiModel = Annotated[
    str | None, typer.Option("--api-model", help="Served model name [default: the one the server lists].")
]
ApiTokenizer = Annotated[
    str | None,
    typer.Option(
        "--api-tokenizer",
        help="The served model's tokenizer (dir, alias or HF id): needed for rank mode and token budgets "
        "[default: the served name when it is a local directory].",
    ),
]
Chat = Annotated[
    bool,
    typer.Option("--chat", help="Served model: send the prompt as one user message to /chat/completions."),
]
ApiConcurrency = Annotated[int, typer.Option("--api-concurrency", min=1, help="Requests in flight at once.")]
ApiTimeout = Annotated[float, typer.Option("--api-timeout", min=1, help="Seconds one request may take.")]
NoCache = Annotated[
    bool,
    typer.Option("--no-cache", help="Use no prediction cache, even with --cache-dir (a server may change "
                 "the weights behind one name)."),
]  # fmt: skip


def served_model(
    model: str | None,
    api_base: str | None,
    api_model: str | None,
    *,
    tokenizer: str | None,
    chat: bool,
    concurrency: int,
    timeout_s: float,
    trust_remote_code: bool,
) -> tuple[str | None, ServedOptions]:
    """(the model SPEC, how to reach it if it is served)."""
    spec = spec_from_options(model, api_base, api_model)
    options = ServedOptions(
        chat=chat,
        tokenizer=tokenizer,
        concurrency=concurrency,
        timeout_s=timeout_s,
        trust_remote_code=trust_remote_code,
    )
    return spec, options


def cache_folder(cache_dir: Path | None, no_cache: bool) -> Path | None:
    return None if no_cache else cache_dir
