"""A real OpenAI-compatible server: ``transformers serve`` on 127.0.0.1, started and stopped here.

`itprobe predict` and `itprobe audit` against it must give the local engine's answers on the same model in
fp32. transformers serve returns no log-probs, so rank mode must be refused (predict) or skipped with the
reason (audit). Needs transformers' ``serving`` extra (``pip install -e '.[serve]'``); skips without it.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from audit_fakes import write_user_jsonl
from cli_runner import run_cli
from tiny_models import one_torch_thread, save_tiny_llama

from itprobe.decoding import Decoding
from itprobe.models import open_model
from itprobe.predict import predict_tasks, read_predictions
from itprobe.prompts import PromptConfig
from itprobe.tasks import load_tasks

pytestmark = pytest.mark.usefixtures("one_torch_thread")
_ = one_torch_thread
STARTUP_S = 180


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    import httpx2

    try:
        return httpx2.get(url, timeout=2, trust_env=False).status_code == 200
    except httpx2.HTTPError:
        return False


@contextmanager
def transformers_serve(model_dir: Path, log: Path) -> Iterator[str]:
    """``transformers serve MODEL_DIR`` on 127.0.0.1 (CPU, fp32, offline); yields the API base URL."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("transformers serve needs transformers' serving extra: pip install -e '.[serve]'")
    port = _free_port()
    cmd = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir),
           "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--dtype", "float32",
           "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TRANSFORMERS_VERBOSITY": "error"}
    with serving(cmd, env, port, log) as base:
        if base is None:
            pytest.fail(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
        yield base


@contextmanager
def serving(
    cmd: list[str], env: dict[str, str], port: int, log: Path, startup_s: float = STARTUP_S
) -> Iterator[str | None]:
    """Start ``cmd`` (a server on 127.0.0.1:``port``, output to ``log``), wait up to ``startup_s`` for its
    /health; yields its API base URL, or None when it died or did not come up in time (the caller fails
    or skips, with the log). The server is always stopped."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + startup_s
        while not _healthy(f"http://127.0.0.1:{port}/health"):
            if proc.poll() is not None or time.monotonic() > deadline:
                yield None
                return
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def model_dir(tokenizer: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with transformers_serve(model_dir, tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_user_jsonl(tmp_path_factory.mktemp("data") / "tasks.jsonl")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITPROBE_CACHE", str(tmp_path_factory.mktemp("cache")))


def _spec(base: str, model_dir: Path) -> str:
    return f"openai:{base}#{model_dir}"  # transformers serve names a local model by its path


def test_predict_through_the_server_equals_local(
    server: str, model_dir: Path, tasks_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served, local = tmp_path / "served.jsonl", tmp_path / "local.jsonl"
    common = ["--tasks", str(tasks_file), "--max-instances", "4", "--json"]
    code, stdout, err = run_cli(capsys, "predict", "--api-base", server, "--api-model", str(model_dir),
                                "--out", str(served), *common)  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["model"].startswith(f"openai:{server}#{model_dir}@served:") and summary["dtype"] is None
    code, _, err = run_cli(capsys, "predict", "--model", str(model_dir), "--precision", "fp32",
                           "--out", str(local), *common)  # fmt: skip
    assert code == 0, err
    a, b = read_predictions(served), read_predictions(local)
    assert [(p.task, p.id) for p in a] == [(p.task, p.id) for p in b] and len(a) == 8
    assert [p.prediction for p in a] == [p.prediction for p in b]
    assert all(p.prediction for p in a)  # the comparison is not vacuous


def test_generation_repeated_without_stop_is_still_exact(
    server: str, model_dir: Path, tasks_file: Path
) -> None:
    """A stop of " " makes the server stop before any content on most rows (tokens start with a space):
    those rows are re-requested without stop and cut locally; answers must still equal the local ones."""
    tasks = load_tasks(tasks_file)
    rule = Decoding(max_new_tokens=12, stop=(" ",))
    served = open_model(_spec(server, model_dir))
    local = open_model(str(model_dir), precision="fp32")
    kw: dict[str, Any] = {"progress": False, "max_instances": 3, "decoding": rule}
    a = predict_tasks(served, tasks, PromptConfig(), **kw)
    b = predict_tasks(local, tasks, PromptConfig(), **kw)
    assert [p.prediction for p in a] == [p.prediction for p in b]
    assert all(p.prediction for p in a)


def test_rank_mode_is_refused_with_the_reason(
    server: str, model_dir: Path, tasks_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rank.jsonl"
    code, _, err = run_cli(capsys, "predict", "--model", _spec(server, model_dir), "--tasks", str(tasks_file),
                           "--mode", "rank", "--out", str(out))  # fmt: skip
    assert code == 2 and not out.exists()
    assert "--mode rank: the server returns no prompt log-probs" in err and "Traceback" not in err


def test_chat_mode(
    server: str, model_dir: Path, tasks_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run_cli(capsys, "predict", "--model", _spec(server, model_dir), "--chat",
                                "--tasks", str(tasks_file), "--max-instances", "1", "--json",
                                "--out", str(tmp_path / "chat.jsonl"))  # fmt: skip
    assert code == 0, err
    assert "chat template (--chat)" in json.loads(stdout)["served_api"]


def _generation_rows(out: Path) -> list[dict[str, Any]]:
    with gzip.open(out / "results.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    # ``raw`` is left out: a server returns its continuation without the stop sequence that ended it, the
    # local engine with it; the answers cut from them, which are what is scored, are compared
    return sorted(
        ({k: v for k, v in r.items() if k != "raw"} for r in rows if r["mode"] == "generate"),
        key=lambda r: (r["condition"], r["task"], r["id"]),
    )


def test_audit_of_the_served_model_matches_the_local_audit(
    server: str, model_dir: Path, tasks_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--tasks", str(tasks_file), "--max-instances", "3", "--n-boot", "200", "--no-progress"]
    code, _, err = run_cli(capsys, "audit", "--model", _spec(server, model_dir), "--out", str(tmp_path / "s"),
                           *common)  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli(capsys, "audit", "--model", str(model_dir), "--precision", "fp32", "--modes",
                           "generate", "--out", str(tmp_path / "l"), *common)  # fmt: skip
    assert code == 0, err
    served, local = _generation_rows(tmp_path / "s"), _generation_rows(tmp_path / "l")
    assert len(served) > 20 and served == local
    report = json.loads((tmp_path / "s" / "audit.json").read_text())
    assert {s["probe"] for s in report["skipped"]} >= {"rank classification", "prior"}
    rank = next(s for s in report["skipped"] if s["probe"] == "rank classification")
    assert "no prompt log-probs" in rank["reason"]
    assert "not hashed" in report["provenance"]["extra"]["served weights"]
    local_report = json.loads((tmp_path / "l" / "audit.json").read_text())
    assert report["data"]["modes"]["generate"] == local_report["data"]["modes"]["generate"]
    markdown = (tmp_path / "s" / "audit.md").read_text()
    assert "no chat template" in markdown and "no prompt log-probs" in markdown


@pytest.mark.slow
def test_packaged_smollm2_through_the_server_equals_local(
    smollm2_dir: Path, tasks_file: Path, tmp_path: Path
) -> None:
    with transformers_serve(smollm2_dir, tmp_path / "serve.log") as base:
        served = open_model(_spec(base, smollm2_dir))
        local = open_model(str(smollm2_dir), precision="fp32")
        tasks = load_tasks(tasks_file)
        kw: dict[str, Any] = {"progress": False, "max_instances": 4}
        a = predict_tasks(served, tasks, PromptConfig(), **kw)
        b = predict_tasks(local, tasks, PromptConfig(), **kw)
    assert [p.prediction for p in a] == [p.prediction for p in b]
    assert sum(p.prediction.rstrip(".") in ("yes", "no") for p in a) >= 4  # answers in the label space
