"""A bad output path is refused before any model time (issue #16, item 10): one line, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli


@pytest.fixture
def no_heavy_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command reaches model loading, training, an audit or a study.

    Every model, tokenizer or size of a SPEC goes through `itprobe.models.backends.backend_of` (looked up
    there at call time, so patching it reaches every caller; `test_the_tripwire_fires` checks it does).
    """
    import itprobe.audit
    import itprobe.cli.model
    import itprobe.cli.study
    import itprobe.models.backends
    import itprobe.study
    import itprobe.training.loop

    def reached(*args, **kwargs):
        raise AssertionError("the output path was not checked before the work started")

    for module, name in ((itprobe.models.backends, "backend_of"), (itprobe.audit, "run_audit"),
                         (itprobe.study, "run_study"), (itprobe.training.loop, "train"),
                         (itprobe.cli.study, "run_study"), (itprobe.cli.model, "open_model")):  # fmt: skip
        monkeypatch.setattr(module, name, reached)


def test_the_tripwire_fires(no_heavy_work: None) -> None:
    from itprobe.models import model_size, open_model, open_tokenizer

    for reach in (open_model, open_tokenizer, model_size):
        with pytest.raises(AssertionError, match="not checked before"):
            reach("some/model")


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    rows = [
        {"task": "t", "definition": "d", "input": f"x{i}", "output": "yes" if i % 2 else "no"}
        for i in range(4)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cases(tmp: Path, tasks: Path) -> list[tuple[list[str], str]]:
    a_file = tmp / "a-file.txt"
    a_file.write_text("x")
    a_dir = tmp / "a-dir"
    a_dir.mkdir()
    under_file = a_file / "sub"
    return [
        (["predict", "--model", "m", "--tasks", str(tasks), "--out", str(a_dir)], "is a directory"),
        (
            ["predict", "--model", "m", "--tasks", str(tasks), "--out", str(under_file / "p.jsonl")],
            "not a directory",
        ),
        (["audit", "--tasks", str(tasks), "--out", str(a_file)], "not a directory"),
        (["audit", "--tasks", str(tasks), "--out", str(under_file)], "not a directory"),
        (["run", "--out", str(a_file), "--no-progress"], "not a directory"),
        (["run", "--out", str(under_file), "--no-progress"], "not a directory"),
        (["train", "--tasks", str(tasks), "--out", str(a_file)], "not a directory"),
        (["data", "suite", "--out", str(a_file)], "not a directory"),
        (["data", "convert", str(tasks), str(under_file / "t.jsonl")], "not a directory"),
        (["merge", str(a_file), str(a_dir)], "not a directory"),
    ]


def test_bad_outputs_are_refused_first(capsys, tmp_path: Path, tasks: Path, no_heavy_work: None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for argv, message in _cases(tmp_path, tasks):
        code, out, err = run_cli(capsys, *argv)
        assert code == 2, (argv, err)
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)
