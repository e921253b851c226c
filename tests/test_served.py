"""Served models (`itprobe.models.served`, `itprobe.models.endpoint`) against fake OpenAI-compatible servers.

The fakes (`fake_openai`) run in-process (``httpx2.MockTransport``) or on 127.0.0.1 for the CLI tests; the
real server (`transformers serve`) is exercised in test_served_transformers.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from audit_fakes import FakeModel, write_user_jsonl
from cli_runner import run_cli
from fake_openai import logprob_app, mock_transport, models_payload, scripted_app, serve_http

from itprobe.decoding import Decoding, cut_answer, protocol
from itprobe.errors import UserError
from itprobe.models import load_model, open_model, tokenizer_of
from itprobe.models.endpoint import ApiClient, ServerRejected, parse_spec, spec_from_options
from itprobe.models.served import ServedOptions, _through_stop, connect

BASE = "http://127.0.0.1:9/v1"  # never contacted: the mock transport answers


def _connect(app: Any, name: str = "m", sleeps: list[float] | None = None, **options: Any):
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return connect(
        f"openai:{BASE}#{name}", ServedOptions(**options), transport=mock_transport(app), sleep=sleep
    )


def _completions(log: list[Any]) -> list[Any]:
    return [body for method, path, body in log if path.endswith("completions")]


# ---- the SPEC ---------------------------------------------------------------------------------------------
def test_parse_spec() -> None:
    ep = parse_spec("openai:http://127.0.0.1:8000/v1/#org/model-name")
    assert (ep.base_url, ep.model) == ("http://127.0.0.1:8000/v1", "org/model-name")
    assert parse_spec("openai:https://api.example.com/v1").model == ""
    with pytest.raises(UserError, match="must start with http"):
        parse_spec("openai:127.0.0.1:8000/v1#m")
    assert spec_from_options("x", "http://h:1/v1/", "m") == "openai:http://h:1/v1#m"
    assert spec_from_options("x", None, None) == "x"
    with pytest.raises(UserError, match="--api-model needs --api-base"):
        spec_from_options("x", None, "m")


def test_load_model_refuses_a_served_spec() -> None:
    with pytest.raises(UserError, match="served model: this needs local weights"):
        load_model("openai:http://127.0.0.1:8000/v1#m")


# ---- connecting: one-line errors --------------------------------------------------------------------------
def test_wrong_model_name_lists_what_the_server_serves() -> None:
    app = scripted_app({}, name="a")

    def two(method: str, path: str, body: Any) -> tuple[int, Any]:
        return (200, models_payload("a", "b")) if path.endswith("/models") else app(method, path, body)

    with pytest.raises(UserError, match=r"serves no model 'c' \(it serves: a, b\)"):
        _connect(two, name="c")
    with pytest.raises(UserError, match="serves 2 models .*name one"):
        _connect(two, name="")
    assert _connect(scripted_app({}, name="only"), name="").endpoint.model == "only"


def test_wrong_base_url_and_server_down() -> None:
    def not_openai(method: str, path: str, body: Any) -> tuple[int, Any]:
        return 404, {"detail": "Not Found"}

    with pytest.raises(UserError, match="no OpenAI-compatible API there .*ends in /v1"):
        _connect(not_openai)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.perf_counter()
    with pytest.raises(UserError, match="cannot connect .*is the server running"):
        connect(f"openai:http://127.0.0.1:{port}/v1#m")
    assert time.perf_counter() - started < 5  # no retries before the first answer


def test_cli_says_server_down_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    code, _, err = run_cli(
        capsys, "predict", "--api-base", f"http://127.0.0.1:{port}/v1", "--api-model", "m",
        "--tasks", str(tasks), "--out", str(tmp_path / "p.jsonl"),
    )  # fmt: skip
    assert code == 2
    assert err.strip().count("\n") == 0 and "cannot connect" in err and "Traceback" not in err


# ---- retries, errors, the key -----------------------------------------------------------------------------
def _flaky(failures: list[tuple[int, Any]], log: list[Any]) -> Any:
    """A scripted server whose first completions answer with ``failures`` (status, payload) in turn."""
    ok = scripted_app(lambda p: " yes\n", log=log)

    def app(method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("completions") and failures:
            log.append((method, path, body))
            return failures.pop(0)
        return ok(method, path, body)

    return app


def test_retries_with_backoff_on_429_and_5xx() -> None:
    log: list[Any] = []
    sleeps: list[float] = []
    failures = [(503, {"error": {"message": "busy"}}), (429, ({"error": "slow down"}, {"retry-after": "3"}))]
    model = _connect(_flaky(failures, log), sleeps=sleeps)
    assert model.generate(["Input: x\nOutput: "], Decoding(8, ("\n",))) == [" yes"]
    assert len(_completions(log)) == 3 and sleeps == [1.0, 3.0]  # backoff 1 s, then the server's Retry-After


def test_gives_up_after_retries_in_one_line() -> None:
    log: list[Any] = []
    sleeps: list[float] = []
    model = _connect(_flaky([(500, {"detail": "engine died"})] * 9, log), sleeps=sleeps, retries=2)
    with pytest.raises(UserError, match=r"HTTP 500: engine died after 3 attempts") as info:
        model.generate(["p"], Decoding(8, ()))
    assert "\n" not in str(info.value)
    assert len(_completions(log)) == 3 and sleeps == [1.0, 2.0]


def test_client_errors_are_not_retried() -> None:
    log: list[Any] = []
    model = _connect(_flaky([(400, {"error": {"message": "prompt too long: 9000 > 8192"}})], log))
    with pytest.raises(ServerRejected, match=r"HTTP 400: prompt too long"):
        model.generate(["p"], Decoding(8, ()))
    assert len(_completions(log)) == 1


def test_api_key_from_the_environment_is_sent_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-1234567890"
    monkeypatch.setenv("ITPROBE_API_KEY", secret)
    seen: list[str] = []
    import httpx2

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers.get("authorization", ""))
        if request.url.path.endswith("/models"):
            return httpx2.Response(200, json=models_payload("m"))
        return httpx2.Response(401, json={"error": {"message": f"bad key {secret[:4]}"}})

    model = connect(f"openai:{BASE}#m", transport=httpx2.MockTransport(handle))
    assert seen[0] == f"Bearer {secret}"
    with pytest.raises(UserError) as info:
        model.generate(["p"], Decoding(4, ()))
    message = str(info.value)
    assert "refused the API key (HTTP 401)" in message and "$ITPROBE_API_KEY" in message
    shown = message + model.identity + model.fingerprint + json.dumps(model.provenance())
    assert secret not in shown


def test_map_keeps_order_bounds_concurrency_and_stops_on_error() -> None:
    client = ApiClient(BASE, concurrency=3)
    lock, state = threading.Lock(), {"now": 0, "peak": 0, "ran": 0}

    def work(x: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
            state["ran"] += 1
        if x == 5:
            raise UserError("boom")
        return x * x

    assert client.map(work, list(range(5))) == [0, 1, 4, 9, 16]
    assert 1 < state["peak"] <= 3
    state["ran"] = 0
    with pytest.raises(UserError, match="boom"):
        client.map(work, list(range(5, 200)))
    assert state["ran"] < 20  # the rest was cancelled


# ---- identity ---------------------------------------------------------------------------------------------
def test_identity_is_what_the_server_reports_not_request_time_fields() -> None:
    def app_with(entry: dict[str, Any], version: str | None = None) -> Any:
        def app(method: str, path: str, body: Any) -> tuple[int, Any]:
            if path.endswith("/models"):
                return 200, {"data": [entry]}
            if path == "/version" and version:
                return 200, {"version": version}
            return 404, {"detail": "Not Found"}

        return app

    base = {
        "id": "m",
        "object": "model",
        "owned_by": "vllm",
        "root": "/models/llama-8b",
        "max_model_len": 4096,
    }
    first = _connect(app_with({**base, "created": 1, "permission": [{"id": "modelperm-1"}]}))
    again = _connect(app_with({**base, "created": 2, "permission": [{"id": "modelperm-2"}]}))
    other_root = _connect(app_with({**base, "root": "/models/llama-8b-v2"}))
    versioned = _connect(app_with(base, version="0.9.1"))
    assert first.identity == again.identity
    assert len({first.identity, other_root.identity, versioned.identity}) == 3
    assert first.identity.startswith(f"openai:{BASE}#m@served:")
    assert versioned.reported["server_version"] == "0.9.1"
    chat = _connect(app_with(base), chat=True)
    assert chat.identity == first.identity and chat.fingerprint != first.fingerprint
    assert "not hashed" in first.provenance()["served weights"]


# ---- generation: the local stop rule, exactly -------------------------------------------------------------
CONTINUATIONS = {
    "answer then newline": " positive\nInput: more",
    "leading newline": "\npositive\nInput: x",
    "only whitespace then EOS": " \n\n",
    "blank lines then answer": "\n\n negative \nnext",
    "no stop before the cap": "abcdefghijklmnopqrstuvwxyz",
    "stop right at the cap": "abcdefg\n",
}


@pytest.mark.parametrize("stop", [("\n",), ("\n", "Input:"), (" ",), ()])
def test_generation_answers_follow_the_local_stop_rule(stop: tuple[str, ...]) -> None:
    log: list[Any] = []
    model = _connect(scripted_app({p.rstrip(): c for p, c in CONTINUATIONS.items()}, log=log))
    prompts = [p + " " for p in CONTINUATIONS]  # a trailing space, as Tk-Instruct prompts end in "Output: "
    cap = 8
    raw = model.generate(prompts, Decoding(cap, stop))
    for prompt, text in zip(CONTINUATIONS, raw, strict=True):
        full = CONTINUATIONS[prompt][:cap]  # what greedy decoding produces without any stop
        assert cut_answer(text, stop) == cut_answer(full, stop), prompt
        assert _through_stop(full, stop).startswith(text)  # the stop sequence itself may be left out
    sent = _completions(log)
    assert all(b["prompt"] in CONTINUATIONS for b in sent)  # right-stripped, as the local causal engine
    assert all(b["temperature"] == 0 and b["max_tokens"] == cap for b in sent)
    again = [b for b in sent if "stop" not in b]
    assert len(sent) == len(prompts) + (len(again) if stop else 0)
    if stop == ("\n",):  # repeated without stop only where the server stopped before any content
        assert sorted(b["prompt"] for b in again) == ["blank lines then answer", "leading newline",
                                                      "only whitespace then EOS"]  # fmt: skip


@pytest.mark.parametrize("name", ["tk-instruct", "first-line"])
def test_the_request_is_the_callers_decoding(name: str) -> None:
    """The adapter maps the `Decoding` it is given to the request: its cap as ``max_tokens``, its stop
    sequences as ``stop`` (none at all for tk-instruct, which stops at EOS only)."""
    log: list[Any] = []
    continuation = " yes\nInput: more" + "." * 200
    model = _connect(scripted_app(lambda p: continuation, log=log))
    decoding = protocol(name)
    (raw,) = model.generate(["Input: x\nOutput: "], decoding)
    (body,) = _completions(log)
    assert body["max_tokens"] == decoding.max_new_tokens == {"tk-instruct": 128, "first-line": 64}[name]
    assert body.get("stop", []) == list(decoding.stop)
    assert raw == (" yes" if decoding.stop else continuation[:128])


def test_chat_mode_sends_one_user_message() -> None:
    log: list[Any] = []
    model = _connect(scripted_app({"Input: x\nOutput:": "yes\n"}, log=log), chat=True)
    assert model.generate(["Input: x\nOutput: "], Decoding(8, ("\n",))) == ["yes"]
    (method, path, body), *_ = [entry for entry in log if entry[1].endswith("completions")]
    assert path.endswith("/chat/completions") and body["messages"] == [
        {"role": "user", "content": "Input: x\nOutput:"}
    ]
    assert "chat mode (--chat)" in (model.rank_unavailable() or "")
    assert "chat template" in model.provenance()["served API"]


# ---- rank classification ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    import torch
    from tiny_models import save_tiny_llama

    folder = save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny"))
    torch.set_num_threads(1)
    loaded = load_model(str(folder), precision="fp32", device="cpu")
    return folder, loaded


RANK_PROMPTS = [
    (
        "Definition: Is it positive?\n\nInput: great film\nOutput: ",
        ["positive", "negative", "mixed feelings"],
    ),
    ("Definition: Is it positive?\n\nInput: dull\nOutput: ", ["positive", "negative", "mixed feelings"]),
    ("Input: 2+2\nOutput:", ["4", " four", ":)"]),
    ("", ["yes", "no"]),
]


def test_rank_scores_equal_the_local_engine(tiny: tuple[Path, Any]) -> None:
    from itprobe.models.hf import HFLanguageModel

    folder, loaded = tiny
    log: list[Any] = []
    served = _connect(logprob_app(loaded.model, loaded.tokenizer, log=log), tokenizer=str(folder))
    local = HFLanguageModel(loaded, batch_size=4)
    prompts, labels = [p for p, _ in RANK_PROMPTS], [c for _, c in RANK_PROMPTS]
    got, want = served.score_choices(prompts, labels), local.score_choices(prompts, labels)
    for row_s, row_l in zip(got, want, strict=True):
        assert [s.n_tokens for s in row_s] == [s.n_tokens for s in row_l]
        assert [s.logprob for s in row_s] == pytest.approx([s.logprob for s in row_l], abs=1e-4)
    bodies = _completions(log)
    assert isinstance(bodies[0]["prompt"], str)  # the probe: text, to compare tokenisations
    assert len(bodies) == 1 + len(prompts)  # then one request per instance, its labels batched
    assert all(b["echo"] is True and b["logprobs"] == 1 for b in bodies)


def test_rank_unavailable_reasons(tiny: tuple[Path, Any], tokenizer: Any) -> None:
    folder, loaded = tiny
    assert "--api-tokenizer" in (_connect(scripted_app({})).rank_unavailable() or "")
    ignores = _connect(scripted_app(lambda p: " yes"), tokenizer=str(folder))  # echo/logprobs ignored
    assert "no prompt log-probs" in (ignores.rank_unavailable() or "")
    with pytest.raises(UserError, match="rank classification on openai:.*no prompt log-probs"):
        ignores.score_choices(["p"], [["a", "b"]])

    def rejects(method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("/models"):
            return 200, models_payload("m")
        return 400, {"error": {"message": "Only no echo is supported"}}

    reason = _connect(rejects, tokenizer=str(folder)).rank_unavailable() or ""
    assert "rejects echo + logprobs" in reason and "Only no echo is supported" in reason

    class Other:  # a tokenizer that splits differently from the server's
        bos_token_id = eos_token_id = 0

        def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
            return {"input_ids": [ord(c) for c in text]}

    mismatch = _connect(logprob_app(loaded.model, tokenizer), tokenizer=str(folder))
    mismatch.tokenizer = Other()
    mismatch.__dict__.pop("_rank_problem", None)
    assert "pass the served model's own tokenizer" in (mismatch.rank_unavailable() or "")


def test_predict_rank_through_a_server_equals_local(tiny: tuple[Path, Any], tmp_path: Path) -> None:
    from itprobe.predict import predict_tasks
    from itprobe.prompts import PromptConfig
    from itprobe.tasks import load_tasks

    folder, loaded = tiny
    tasks = load_tasks(write_user_jsonl(tmp_path / "tasks.jsonl"))
    served = _connect(logprob_app(loaded.model, loaded.tokenizer), tokenizer=str(folder))
    local = open_model(str(folder), precision="fp32", batch_size=4)
    # each model's tokenizer for prompt budgets: the server's the one named, the local one load_model's
    assert tokenizer_of(served) is served.tokenizer is not None
    assert tokenizer_of(local) is local.loaded.tokenizer
    kw: dict[str, Any] = {"mode": "rank", "progress": False, "max_instances": 3}
    a = predict_tasks(served, tasks, PromptConfig(), **kw)
    b = predict_tasks(local, tasks, PromptConfig(), **kw)
    assert [p.prediction for p in a] == [p.prediction for p in b]
    assert [p.label_logprobs for p in a] == [pytest.approx(p.label_logprobs, abs=1e-4) for p in b]


# ---- audit and predict through the CLI plumbing -----------------------------------------------------------
def test_audit_of_a_served_model_skips_rank_and_matches_generation(tmp_path: Path) -> None:
    from itprobe.audit import AuditConfig, run_audit

    fake = FakeModel()
    model = _connect(scripted_app(lambda p: fake.generate([p], Decoding(8, ()))[0] + "\n"))
    config = AuditConfig(tasks_path=write_user_jsonl(tmp_path / "tasks.jsonl"), n_boot=200)
    served = run_audit(config, tmp_path / "served", model=model, progress=False)
    local = run_audit(config, tmp_path / "local", model=FakeModel(), progress=False)
    report = json.loads((tmp_path / "served" / "audit.json").read_text())
    assert list(report["data"]["modes"]) == ["generate"]
    skipped = {(s["probe"], s["reason"]) for s in report["skipped"]}
    assert any(p == "rank classification" and "--api-tokenizer" in r for p, r in skipped)
    assert any(p == "prior" and "--api-tokenizer" in r for p, r in skipped)
    extra = report["provenance"]["extra"]
    assert extra["modes"] == "generate" and "no chat template" in extra["served API"]
    assert "not hashed" in extra["served weights"]
    gen = [r for r in served.data.results if r.mode == "generate"]
    assert gen == [r for r in local.data.results if r.mode == "generate"]
    with pytest.raises(UserError, match="rank classification is not possible.*--modes generate"):
        run_audit(AuditConfig(tasks_path=config.tasks_path, modes=("rank",)), tmp_path / "x", model=model)


def test_failure_mid_run_leaves_no_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    count = {"n": 0}
    ok = scripted_app(lambda p: " yes\n")

    def app(method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("completions"):
            count["n"] += 1
            if count["n"] == 5:
                return 400, {"error": {"message": "context length exceeded"}}
        return ok(method, path, body)

    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    out = tmp_path / "preds.jsonl"
    with serve_http(app) as base:
        code, _, err = run_cli(
            capsys, "predict", "--model", f"openai:{base}#m", "--tasks", str(tasks), "--out", str(out),
            "--api-concurrency", "2",
        )  # fmt: skip
        errors = [line for line in err.splitlines() if line.startswith("itprobe: error:")]
        assert code == 2 and len(errors) == 1 and "context length exceeded" in errors[0]
        assert "Traceback" not in err
        assert not out.exists() and not list(tmp_path.glob(".preds*"))
        code, stdout, _ = run_cli(
            capsys, "predict", "--model", f"openai:{base}#m", "--tasks", str(tasks), "--out", str(out),
            "--mode", "rank", "--json",
        )  # fmt: skip
        assert code == 2 and not out.exists()
        count["n"] = 100
        code, stdout, _ = run_cli(
            capsys, "predict", "--model", f"openai:{base}#m", "--tasks", str(tasks), "--out", str(out),
            "--json", "--no-cache",
        )  # fmt: skip
    assert code == 0 and out.exists()
    summary = json.loads(stdout)
    assert summary["dtype"] is None and "no chat template" in summary["served_api"]
    assert summary["model"].startswith(f"openai:{base}#m@served:")
