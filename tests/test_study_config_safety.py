"""Study configs a user can get wrong: an unsafe name, values YAML parses as dates, a non-UTF-8 file
(issue #16, items 8 and 9). Each is one line and exit status 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import run_cli

from itprobe.errors import UserError
from itprobe.study import load_config


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/absolute", "a/b", "..", ".hidden", "", "x" * 200])
def test_unsafe_study_names_are_refused(tmp_path: Path, name: str) -> None:
    config = tmp_path / "s.yaml"
    config.write_text(f"name: {name!r}\n")
    with pytest.raises(UserError, match="'name'"):
        load_config(config)
    with pytest.raises(UserError, match="'name'"):
        load_config("default", [f"name={name!r}"])


def test_safe_names_are_kept() -> None:
    assert load_config("default", ["name=my-study_2.v1"]).name == "my-study_2.v1"


def test_an_unsafe_name_writes_nothing(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config = work / "s.yaml"
    # a model that cannot load: should the name check ever fail, the run stops there instead of running a study
    config.write_text("name: ../../escaped\nmodel: /nonexistent/model\n")
    code, out, err = run_cli(capsys, "run", str(config), "--no-progress")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    assert not (tmp_path / "escaped").exists() and sorted(p.name for p in work.iterdir()) == ["s.yaml"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: s\ndescription: 2024-01-01\n", "'description'"),
        ("name: s\nseeds: [2024-01-01]\n", "'seeds"),
        ("name: s\nmodel: /nonexistent/model\ndata: {suite: {when: 2024-01-01}}\n", "when"),
    ],
)
def test_yaml_dates_are_one_line_errors(capsys, tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "s.yaml"
    config.write_text(text)
    code, out, err = run_cli(capsys, "run", str(config), "--no-progress", "--out", str(tmp_path / "run"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_a_non_utf8_config_is_a_one_line_error(capsys, tmp_path: Path) -> None:
    config = tmp_path / "s.yaml"
    config.write_bytes(b"name: caf\xe9\n")
    code, out, err = run_cli(capsys, "run", str(config), "--no-progress", "--out", str(tmp_path / "run"))
    assert code == 2 and "UTF-8" in err and "s.yaml" in err and len(err.strip().splitlines()) == 1
