"""An official checkout's test tasks are read as Tk-Instruct evaluates them: the first 100 instances.

The compact copy in ../shared stores 100 test instances per task, which hides the rule; this checkout
fixture has 150, and its instances after the 100th would change what detection finds (issue #13 item 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from itprobe.study import load_study_data, validate_config
from itprobe.tasks import load_tasks

N = 150


def _official(outputs: list[str]) -> dict:
    return {
        "Source": ["toy"],
        "Categories": ["Answerability Classification"],
        "Definition": ["Answer yes or no."],
        "Positive Examples": [{"input": "q", "output": "yes", "explanation": "e"}],
        "Negative Examples": [],
        "Instances": [{"id": f"i{i}", "input": f"x{i}", "output": [o]} for i, o in enumerate(outputs)],
    }


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """Test task ``task1_yesno``: yes/no for 100 instances, then "maybe" (a third label).
    Test task ``task2_short``: two labels for 100 instances, then 50 distinct outputs (not classification).
    Train task ``task3_train``: 150 instances."""
    tasks = {
        "task1_yesno_classification": _official(["yes", "no"] * 50 + ["maybe"] * 50),
        "task2_short_classification": _official(["yes", "no"] * 50 + [f"answer {i}" for i in range(50)]),
        "task3_train_classification": _official(["yes", "no"] * 75),
    }
    (tmp_path / "tasks").mkdir()
    for name, data in tasks.items():
        (tmp_path / "tasks" / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    splits = tmp_path / "splits" / "default"
    splits.mkdir(parents=True)
    (splits / "test_tasks.txt").write_text("task1_yesno_classification\ntask2_short_classification\n")
    (splits / "train_tasks.txt").write_text("task3_train_classification\n")
    return tmp_path


def _labels(task) -> set[str] | None:
    return set(task.output_space.labels) if task.output_space is not None else None


def test_load_tasks_reads_the_first_100_instances_of_a_checkout_test_task(checkout: Path) -> None:
    tests = load_tasks(checkout)
    assert [len(t.instances) for t in tests] == [100, 100]
    assert [_labels(t) for t in tests] == [{"yes", "no"}, {"yes", "no"}]
    assert all(dict(t.meta)["num_instances_total"] == str(N) for t in tests)
    (train,) = load_tasks(checkout, split="default/train")
    assert len(train.instances) == N  # training tasks keep every instance (sampled per size)
    # an explicit limit is still obeyed
    assert [len(t.instances) for t in load_tasks(checkout, max_instances=120)] == [120, 120]


@pytest.mark.parametrize(("per_task", "expected"), [(100, 100), (10, 10), (None, 100)])
def test_a_study_detects_and_scores_on_the_evaluation_instances(
    checkout: Path, per_task: int | None, expected: int
) -> None:
    config = validate_config(
        {
            "data": {"source": "natinst", "path": str(checkout)},
            "test_tasks": {"classification_only": True, "instances_per_task": per_task},
        }
    )
    data = load_study_data(config)
    assert [t.name for t in data.test] == ["task1_yesno_classification", "task2_short_classification"]
    assert [len(t.instances) for t in data.test] == [expected, expected]
    # labels found on the 100 evaluation instances, whatever the study then scores
    assert [_labels(t) for t in data.test] == [{"yes", "no"}, {"yes", "no"}]


def test_baseline_scores_the_first_100_instances(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "baseline", "majority", "--tasks", str(checkout), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n_tasks"] == 2 and result["n_instances"] == 200
    assert result["exact_match"] == 50.0  # yes/no alternate over the first 100
