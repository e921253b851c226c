"""Issue #27, group 1 (served models): what a server sends is validated before it is scored
(docs/refusals.md). Each bad answer is one line naming the URL; nothing is stored or cached."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from fake_openai import logprob_app, mock_transport, scripted_app

from itprobe.decoding import Decoding
from itprobe.errors import UserError
from itprobe.models import load_model
from itprobe.models.served import ServedOptions, connect

BASE = "http://127.0.0.1:9/v1"  # never contacted: the mock transport answers


@pytest.fixture(scope="module")
def tiny(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from tiny_models import save_tiny_llama

    folder = save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny"))
    return folder, load_model(str(folder), precision="fp32", device="cpu")


def _lenient_transport(app: Any) -> Any:
    """`fake_openai.mock_transport`, but serialising NaN and infinities as Python's json does (and as some
    servers send them): httpx refuses to encode them itself."""
    import json

    import httpx2

    def handle(request: Any) -> Any:
        body = json.loads(request.content) if request.content else None
        status, payload = app(request.method, request.url.path, body)
        return httpx2.Response(
            status, content=json.dumps(payload).encode(), headers={"content-type": "application/json"}
        )

    return httpx2.MockTransport(handle)


def _spoiled(app: Any, value: Any) -> Any:
    """``app`` with every echoed log-prob of a token-id request (the label requests) set to ``value``."""

    def spoiled(method: str, path: str, body: Any) -> tuple[int, Any]:
        status, answer = app(method, path, body)
        if isinstance(body, dict) and isinstance(body.get("prompt"), list):
            for choice in answer["choices"]:
                values = choice["logprobs"]["token_logprobs"]
                choice["logprobs"]["token_logprobs"] = [values[0]] + [value] * (len(values) - 1)
        return status, answer

    return spoiled


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (math.nan, "finite"),
        (math.inf, "finite"),
        ("-0.5", "not a number"),
        (2.0, "<= 0"),
        (True, "not a number"),
    ],
)
def test_served_log_probs_are_validated(tiny: tuple[Path, Any], value: Any, why: str) -> None:
    folder, loaded = tiny
    app = _spoiled(logprob_app(loaded.model, loaded.tokenizer), value)
    model = connect(
        f"openai:{BASE}#m", ServedOptions(tokenizer=str(folder)), transport=_lenient_transport(app)
    )
    with pytest.raises(UserError, match=why) as err:
        model.score_choices(["Input: x\nOutput: "], [["yes", "no"]])
    assert "\n" not in str(err.value) and "completions" in str(err.value)


@pytest.mark.parametrize("content", [{"answer": "yes"}, ["yes"], 3])
def test_served_answer_text_must_be_a_string(content: Any) -> None:
    app = scripted_app({"Input: x\nOutput:": "yes\n"})

    def odd(method: str, path: str, body: Any) -> tuple[int, Any]:
        status, answer = app(method, path, body)
        if path.endswith("completions"):
            answer["choices"][0]["text"] = content
        return status, answer

    model = connect(f"openai:{BASE}#m", ServedOptions(), transport=mock_transport(odd))
    with pytest.raises(UserError, match="not a string"):
        model.generate(["Input: x\nOutput: "], Decoding(8, ("\n",)))


def _with_context(app: Any, n_ctx: int, log: list[Any]) -> Any:
    """``app`` whose /models entry reports a context of ``n_ctx`` tokens (as vLLM's ``max_model_len``)."""

    def wrapped(method: str, path: str, body: Any) -> tuple[int, Any]:
        log.append(path)
        status, answer = app(method, path, body)
        if path.endswith("/models"):
            for entry in answer["data"]:
                entry["max_model_len"] = n_ctx
        return status, answer

    return wrapped


def test_a_served_prompt_that_cannot_fit_is_refused_before_it_is_sent() -> None:
    log: list[Any] = []
    app = _with_context(scripted_app(lambda p: "yes\n"), 2048, log)
    model = connect(f"openai:{BASE}#m", ServedOptions(), transport=mock_transport(app))
    assert model.generate(["Input: short\nOutput: "], Decoding(4, ("\n",))) == ["yes"]
    sent = len(log)
    with pytest.raises(UserError, match="cannot fit the served context of 2048 tokens"):
        model.generate(["Input: " + "word " * 200_000 + "\nOutput: "], Decoding(4, ("\n",)))  # 1 MB
    assert len(log) == sent  # nothing was sent


def test_run_advises_what_run_accepts_for_a_served_untuned_model(tmp_path: Path) -> None:
    from test_study_support import FakeEngine, tiny_raw

    from itprobe.models import LanguageModel
    from itprobe.study import RunOptions, run_study, validate_config

    served = "openai:http://127.0.0.1:9/v1#m"

    class Engine(FakeEngine):
        def load(self, spec: str) -> LanguageModel:
            if spec.startswith("openai:"):
                return connect(spec, ServedOptions(), transport=mock_transport(scripted_app(lambda p: "x")))
            return super().load(spec)

    raw = tiny_raw(eval={"modes": ["rank"], "untuned_model": served})
    with pytest.raises(UserError, match="rank classification is not possible") as err:
        run_study(validate_config(raw), tmp_path / "run", options=RunOptions(progress=False), engine=Engine())
    assert "--api-tokenizer" not in str(err.value) and "openai:URL#/path/to/model" in str(err.value)
