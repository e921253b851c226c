"""Golden outputs of `itprobe run`, `report`, `audit`, `score` and `baseline` on small fixtures.

Written before the issue-15 restructuring and kept after it: what the commands print and write must
stay byte-identical. The expected texts live in ``tests/golden_outputs/``; ``ITPROBE_REGOLD=1`` rewrites
them (only when a change of output is intended, and then reviewed in the diff).

Models are the deterministic fakes of `test_study_support` (study) and `audit_fakes` (audit), registered
as model backends (`itprobe.models.model_backend`, `itprobe.models.fake.fake_model`) so that the real
loading path opens them; the study's fake base model is trained by the trainer registered for its backend
(`itprobe.study.backend_trainer`: the fake engine's instant "training"); nothing is patched. No random
weights are involved: the outputs are the same on every machine. Normalised before comparison, and nothing
else: absolute temporary paths (``<TMP>``), wall-clock timestamps and durations, the study's run id, the
version strings of the Python packages in the provenance, the PNG plots embedded in the HTML reports
(matplotlib's and its fonts' bytes; they name the environment, not the behaviour), and the rows of the
study report's "Where and when the cells ran" (host, CPU, load and times: the machine's; tested in
`tests/test_study_runner.py`).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from audit_fakes import FakeModel as AuditFakeModel
from audit_fakes import write_user_jsonl
from cli_runner import run_cli
from test_study_support import FakeEngine, store_snapshot, tiny_raw

from itprobe.models import model_backend
from itprobe.models.backends import unregister_backend
from itprobe.models.fake import fake_model, unregister_fake
from itprobe.predict import Prediction, write_predictions
from itprobe.study import backend_trainer, unregister_trainer
from itprobe.tasks import save_tasks
from itprobe.tasks.types import Example, Instance, Task

GOLDEN = Path(__file__).parent / "golden_outputs"
REGOLD = os.environ.get("ITPROBE_REGOLD") == "1"

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)?")
_VERSION_LINE = re.compile(r"(version [\w-]+(?::|</td><td>) ?)[^<\n]+")
_TIMINGS = re.compile(r'("timings": \{)([^{}]*)(\})')
_TIMING_VALUE = re.compile(r'(": )[0-9.e+-]+')
_TIME_LINE = re.compile(r"(time [^:<\n]*(?::|</td><td>) ?)[0-9.]+ s\b")
_PNG = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")
_RUNS = "Where and when the cells ran"
_RUNS_MD = re.compile(rf"(## {_RUNS}\n).*?(?=\n## |\Z)", re.S)
_RUNS_HTML = re.compile(rf"(<section><h2>{_RUNS}</h2>).*?(</section>)", re.S)
_RUNS_JSON = re.compile(rf'("title": "{_RUNS}",).*?(\n    \}})', re.S)
_RUNS_DATA = re.compile(r'(\n    "runs": )\[.*?\n    \]', re.S)
_VERSION = re.compile(r'("(?:itprobe|torch|transformers|peft|accelerate|python|numpy|scipy|pandas|'
                      r'matplotlib|rouge_score|rouge-score|datasets|pydantic|typer|rich)"\s*:\s*)"[^"]*"')  # fmt: skip


def normalise(text: str, tmp: Path, run_ids: tuple[str, ...] = ()) -> str:
    """The text with temp paths, timestamps, durations, run ids and package versions masked."""
    text = text.replace(str(tmp), "<TMP>")
    for run_id in run_ids:
        text = text.replace(run_id, "<RUN_ID>")
    text = _PNG.sub("data:image/png;base64,<PNG>", text)
    text = _RUNS_MD.sub(r"\g<1><RUNS>\n", text)
    text = _RUNS_HTML.sub(r"\g<1><RUNS>\g<2>", text)
    text = _RUNS_JSON.sub(r'\g<1> "<RUNS>"\g<2>', text)
    text = _RUNS_DATA.sub(r'\g<1>"<RUNS>"', text)
    text = _STAMP.sub("<TIME>", text)
    text = _TIMINGS.sub(lambda m: m[1] + _TIMING_VALUE.sub(r"\g<1>0", m[2]) + m[3], text)
    text = _TIME_LINE.sub(r"\g<1><DUR> s", text)
    text = _VERSION_LINE.sub(r"\g<1><VERSION>", text)
    return _VERSION.sub(r'\g<1>"<VERSION>"', text)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if REGOLD:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing (ITPROBE_REGOLD=1 writes it)"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from {path}"


def _run_ids(run_dir: Path) -> tuple[str, ...]:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        cols = {r[1] for r in db.execute("PRAGMA table_info(cells)")} if "cells" in names else set()
        if "run_id" not in cols:
            return ()
        return tuple(sorted({r[0] for r in db.execute("SELECT run_id FROM cells") if r[0]}, key=len)[::-1])


@pytest.fixture()
def fake_engine() -> Iterator[None]:
    """`itprobe run` on the fake study models: the base and every tuned model open through a registered
    backend, whose registered trainer is the fake engine's."""
    fake = FakeEngine()
    opens = lambda spec: spec == "fake-base" or spec.startswith("fake-tuned:")  # noqa: E731
    model_backend("study-fake", matches=opens)(lambda spec, settings: fake.load(spec))
    backend_trainer("study-fake")(lambda config, job: fake.train(job))
    yield
    unregister_backend("study-fake")
    unregister_trainer("study-fake")


@pytest.fixture()
def audit_fake() -> Iterator[str]:
    """The rule-following audit fake as ``fake:audit-rule``."""
    fake_model("audit-rule")(lambda spec: AuditFakeModel())
    yield "fake:audit-rule"
    unregister_fake("audit-rule")


def test_run_and_report_outputs(fake_engine: None, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    config = tmp_path / "study.yaml"
    config.write_text(yaml.safe_dump(tiny_raw(eval={"modes": ["rank", "generate"], "precision": "fp32"})))
    run_dir = tmp_path / "run"
    code, out, err = run_cli(capsys, "run", str(config), "--out", str(run_dir), "--no-progress")
    assert code == 0, err
    ids = _run_ids(run_dir)
    check("run.stdout", normalise(out, tmp_path, ids))
    check("run.stderr", normalise(err, tmp_path, ids))
    for sub in ("", "mode-generate/"):
        for name in ("report.md", "report.json", "report.html"):
            text = (run_dir / sub / name).read_text(encoding="utf-8")
            check(f"run.{sub.replace('/', '.')}{name}", normalise(text, tmp_path, ids))
    snapshot = {k: list(v) for k, v in sorted(store_snapshot(run_dir).items())}
    check("run.store.json", json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    # rebuilt from the store alone: the same report
    code, out, err = run_cli(capsys, "report", str(run_dir))
    assert code == 0, err
    check("report.stdout", normalise(out, tmp_path, ids))
    for sub in ("", "mode-generate/"):
        for name in ("report.md", "report.json"):
            text = (run_dir / sub / name).read_text(encoding="utf-8")
            check(f"run.{sub.replace('/', '.')}{name}", normalise(text, tmp_path, ids))


def test_audit_outputs(audit_fake: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    tasks = write_user_jsonl(tmp_path / "tasks.jsonl")
    out_dir = tmp_path / "audit"
    code, out, err = run_cli(
        capsys, "audit", "--model", audit_fake, "--tasks", str(tasks), "--out", str(out_dir), "--n-boot", "200",
        "--no-progress", "--no-cache",
    )  # fmt: skip
    assert code == 0, err
    check("audit.stdout", normalise(out, tmp_path))
    check("audit.stderr", normalise(err, tmp_path))
    for name in ("audit.md", "audit.json", "audit.html"):
        check(name, normalise((out_dir / name).read_text(encoding="utf-8"), tmp_path))
    results = sorted(p for p in out_dir.iterdir() if p.is_file() and not p.name.startswith("audit."))
    for path in results:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
        check(f"audit.{path.name.removesuffix('.gz')}", normalise(text, tmp_path))


REFS = [
    {"id": "a-1", "references": ["yes"], "task_id": "taskA", "task_category": "Cat One"},
    {"id": "a-2", "references": ["no"], "task_id": "taskA", "task_category": "Cat One"},
    {"id": "b-1", "references": ["the cat sat", "a cat"], "task_id": "taskB", "task_category": "Cat Two"},
]
PAIRS = [
    {"id": "a-1", "prediction": "Yes."},
    {"id": "a-2", "prediction": "yes"},
    {"id": "b-1", "prediction": "cat"},
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_score_outputs(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    # Paths are passed relative to the temp folder: the table title names the file, and rich pads a title
    # to the table's width, so an absolute path would make the padding depend on where the clone is.
    monkeypatch.chdir(tmp_path)
    refs, preds = _jsonl(tmp_path / "refs.jsonl", REFS), _jsonl(tmp_path / "preds.jsonl", PAIRS)
    tk = _jsonl(
        tmp_path / "predicted_examples.jsonl",
        [
            {
                "Task": r["task_id"],
                "Categories": [r["task_category"]],
                "Instance": {"id": r["id"], "output": r["references"]},
                "Prediction": p["prediction"],
            }
            for r, p in zip(REFS, PAIRS, strict=True)
        ],  # fmt: skip
    )
    own = write_predictions(
        [
            Prediction(
                r["task_id"], r["id"], p["prediction"], tuple(r["references"]), "generate", category="C"
            )
            for r, p in zip(REFS, PAIRS, strict=True)
        ],
        tmp_path / "own.jsonl",
    )
    runs = {
        "pairs": ["--predictions", preds.name, "--references", refs.name],
        "missing": [
            "--predictions",
            _jsonl(tmp_path / "p2.jsonl", PAIRS[:2]).name,
            "--references",
            refs.name,
        ],
        "tk": ["--predictions", tk.name],
        "own": ["--predictions", own.name],
    }
    for name, args in runs.items():
        for as_json in (False, True):
            code, out, err = run_cli(capsys, "score", *args, *(["--json"] if as_json else []))
            assert code == 0, err
            suffix = ".json" if as_json else ""
            check(f"score.{name}{suffix}.stdout", normalise(out, tmp_path))
            check(f"score.{name}{suffix}.stderr", normalise(err, tmp_path))


TASKS = [
    Task(
        name="task901_demo_yes_no",
        definition="Answer yes or no",
        instances=tuple(Instance(f"y-{i}", f"Question {i}?", ("yes" if i % 3 else "no",)) for i in range(6)),
        positive_examples=(Example("Is it?", "yes", "Because."), Example("Is not", "no", "")),
        negative_examples=(Example("Really", "maybe", "Not a label"),),
        categories=("Answer Verification",),
    ),
    Task(
        name="task902_demo_title",
        definition="Write a title.",
        instances=(Instance("t-1", "A long text", ("A title",)), Instance("t-2", "Other text", ("Other",))),
        positive_examples=(Example("Some text", "A title", ""),),
        categories=("Title Generation",),
    ),
]


def test_baseline_outputs(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    tasks = tmp_path / "tasks.jsonl"
    save_tasks(TASKS, tasks)
    refs = _jsonl(tmp_path / "refs.jsonl", REFS)
    for kind in ("random", "majority", "copy-input", "copy-demo"):
        for source in (["--tasks", str(tasks)], ["--tasks", str(tasks), "--classification-only"]):
            for as_json in (False, True):
                args = [*source, "--seed", "1", *(["--json"] if as_json else [])]
                code, out, err = run_cli(capsys, "baseline", kind, *args)
                assert code == 0, err
                name = f"baseline.{kind}{'.cls' if len(source) > 2 else ''}{'.json' if as_json else ''}"
                check(f"{name}.stdout", normalise(out, tmp_path))
                check(f"{name}.stderr", normalise(err, tmp_path))
    for as_json in (False, True):
        code, out, err = run_cli(
            capsys, "baseline", "majority", "--references", str(refs), *(["--json"] * as_json)
        )
        assert code == 0, err
        check(f"baseline.majority.refs{'.json' if as_json else ''}.stdout", normalise(out, tmp_path))
