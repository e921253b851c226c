"""Issue #27, group 2: a label set that cannot contain the right answer is refused, wherever it comes from
(label file, a compact task's ``output_space``), naming the task and the labels (docs/refusals.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from itprobe.errors import UserError
from itprobe.tasks import load_tasks


def _rows(tmp_path: Path) -> Path:
    rows = [("sentiment", f"review {i}", "positive" if i % 2 else "negative") for i in range(6)]
    rows += [("topic", f"text {i}", "sport" if i % 2 else "news") for i in range(4)]
    path = tmp_path / "rows.jsonl"
    path.write_text(
        "".join(
            json.dumps({"task": t, "definition": "Classify.", "input": x, "output": y}) + "\n"
            for t, x, y in rows
        )
    )
    return path


LABEL_FILES = {
    "excludes every gold answer": (
        "sentiment: [good, bad]\n",
        r"task sentiment: the labels \['good', 'bad'\].*'negative'",
    ),
    "excludes one gold answer": (
        "sentiment: [positive, neutral]\n",
        r"task sentiment: .*exclude the gold answer 'negative'",
    ),
    "names an unknown task": ("sentimnet: [positive, negative]\n", r"names no task of the data: 'sentimnet'"),
    "two labels one answer": ("topic: [sport, news, Sport.]\n", r"task topic: labels 'sport' and 'Sport\.'"),
}


@pytest.mark.parametrize("case", list(LABEL_FILES))
def test_bad_label_files_are_refused(case: str, tmp_path: Path) -> None:
    text, message = LABEL_FILES[case]
    (tmp_path / "labels.yaml").write_text(text)
    with pytest.raises(UserError, match=message) as err:
        load_tasks(_rows(tmp_path), label_file=tmp_path / "labels.yaml")
    assert "\n" not in str(err.value)


def test_a_label_file_for_a_task_left_out_by_a_selection_is_fine(tmp_path: Path) -> None:
    (tmp_path / "labels.yaml").write_text("sentiment: [positive, negative, neutral]\ntopic: [sport, news]\n")
    (task,) = load_tasks(_rows(tmp_path), names=["topic"], label_file=tmp_path / "labels.yaml")
    assert task.output_space is not None and task.output_space.labels == ("sport", "news")


def test_baseline_random_with_a_foreign_label_set_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "labels.yaml").write_text("sentiment: [good, bad]\n")
    code, out, err = run_cli(
        capsys,
        "baseline",
        "random",
        "--tasks",
        str(_rows(tmp_path)),
        "--labels",
        str(tmp_path / "labels.yaml"),
    )
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "task sentiment" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (["yes", "maybe"], r"task t: the labels \['yes', 'maybe'\] \(from its declared output space\).*'no'"),
        (["yes", "no", "Yes."], r"labels 'yes' and 'Yes\.'"),
    ],
)
def test_a_compact_output_space_must_hold_its_own_gold(
    space: list[str], message: str, tmp_path: Path
) -> None:
    record = {
        "name": "t",
        "definition": "Answer yes or no.",
        "instances": [
            {"id": str(i), "input": f"q{i}", "output": ["yes" if i % 2 else "no"]} for i in range(4)
        ],
        "output_space": space,
    }
    (tmp_path / "t.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(UserError, match=message):
        load_tasks(tmp_path / "t.jsonl")


def test_the_explicit_opt_out_scores_against_a_foreign_label_set_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "labels.yaml").write_text("sentiment: [good, bad]\n")
    args = ["baseline", "random", "--tasks", str(_rows(tmp_path)), "--labels", str(tmp_path / "labels.yaml")]
    code, out, err = run_cli(capsys, *args, "--labels-may-exclude-gold", "--json")
    assert code == 0, err
    assert "warning: task sentiment: the labels ['good', 'bad']" in err and "scored anyway" in err
    sentiment = json.loads(out)["per_task"]["sentiment"]
    assert sentiment["exact_match"] == 0.0  # every answer is wrong by construction, as the user asked
    # the opt-out relaxes only the gold check: labels that are one answer stay refused
    (tmp_path / "labels.yaml").write_text("topic: [sport, news, Sport.]\n")
    code, _, err = run_cli(capsys, *args, "--labels-may-exclude-gold")
    assert code == 2 and "labels 'sport' and 'Sport.'" in err
