"""benchmarks/bench_audit.py's generated factory CSV: what `itprobe audit` reads from it (no timing)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_audit  # noqa: E402

from itprobe.tasks import load_tasks  # noqa: E402


def test_factory_csv_is_three_classification_tasks_of_sixteen_rows(tmp_path: Path) -> None:
    path = bench_audit.write_csv(bench_audit.factory_rows(), tmp_path / "factory.csv")
    tasks = load_tasks(path)
    assert [t.name for t in tasks] == ["ticket_priority", "complaint_topic", "tolerance_check"]
    for task, (definition, labels, _) in zip(tasks, bench_audit.TASKS.values(), strict=True):
        assert task.definition == definition
        assert len(task.instances) == bench_audit.ROWS_PER_TASK
        assert len(task.positive_examples) == 2
        assert task.output_space is not None and task.output_space.labels == labels
        answers = {i.outputs[0] for i in task.instances}
        assert answers <= set(labels) and len(answers) >= 2  # a task whose answers all agree probes nothing


def test_factory_rows_are_reproducible_and_the_tolerance_labels_are_right() -> None:
    rows = bench_audit.factory_rows()
    assert rows == bench_audit.factory_rows() and rows != bench_audit.factory_rows(seed=1)
    for row in rows:
        if row["task"] == "tolerance_check":
            found = re.search(r"nominal ([\d.]+) mm \+/- ([\d.]+) mm, measured ([\d.]+) mm", row["input"])
            assert found is not None
            nominal, tolerance, measured = (float(x) for x in found.groups())
            assert row["output"] == ("pass" if abs(measured - nominal) <= tolerance else "fail")
