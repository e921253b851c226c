"""Cost of errors against hand-computed cases, including the asymmetric "missed urgent = 20x" matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from itprobe.errors import UserError
from itprobe.report import InstanceResult
from itprobe.report.costs import (
    OTHER,
    CostFile,
    confusion_matrix,
    expected_cost,
    instance_costs,
    load_costs,
    validate_costs,
)

URGENT = """
default:
  cost:
    urgent: {not urgent: 20}
    not urgent: {urgent: 1}
  out_of_space: 5
"""
LABELS = ("urgent", "not urgent")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "costs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_asymmetric_matrix_by_hand(tmp_path):
    matrix = load_costs(write(tmp_path, URGENT)).resolve("triage", LABELS)
    gold = ["urgent", "urgent", "not urgent", "not urgent", "urgent", "not urgent"]
    pred = ["urgent", "not urgent", "urgent", "Not urgent.", "maybe", "not urgent"]
    # costs: 0 (correct), 20 (missed urgent), 1 (false alarm), 0 (normalised match), 5 (out of space), 0
    assert [matrix.cost(g, p) for g, p in zip(gold, pred, strict=True)] == [0, 20, 1, 0, 5, 0]
    est = expected_cost(gold, pred, matrix, seed=0)
    assert est.mean == pytest.approx(26 / 6)
    assert est.low < 26 / 6 < est.high
    assert est.high <= 20


def test_defaults_are_zero_one_and_out_of_space_defaults_to_wrong():
    matrix = CostFile().resolve("t", ("yes", "no"))
    assert matrix.cells == ((0.0, 1.0), (1.0, 0.0))
    assert matrix.cost("yes", "no") == 1.0
    assert matrix.cost("yes", "perhaps") == 1.0
    shifted = CostFile.model_validate({"default": {"wrong": 2}}).resolve("t", ("yes", "no"))
    assert shifted.cost("yes", "perhaps") == 2.0


def test_task_block_overrides_default(tmp_path):
    costs = load_costs(write(tmp_path, URGENT + "tasks:\n  triage:\n    cost: {urgent: {not urgent: 50}}\n"))
    triage = costs.resolve("triage", LABELS)
    other = costs.resolve("other", LABELS)
    assert triage.cost("urgent", "not urgent") == 50
    assert triage.cost("not urgent", "urgent") == 1  # from default
    assert other.cost("urgent", "not urgent") == 20


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("defaults: {}\n", "defaults"),
        ("default: {costs: {}}\n", "default.costs"),
        ("default: {cost: {yes: {no: .nan}}}\n", "default.cost.yes.no"),
        ("default: {cost: {yes: {no: lots}}}\n", "default.cost.yes.no"),
    ],
)
def test_invalid_files_name_the_field(tmp_path, text, field):
    with pytest.raises(UserError, match=field.replace(".", r"\.")):
        load_costs(write(tmp_path, text))


def test_yes_no_and_numeric_labels_stay_strings(tmp_path):
    costs = load_costs(
        write(tmp_path, "default:\n  cost:\n    yes: {no: 3}\n    1: {5: 4}\n  out_of_space: 2\n")
    )
    assert costs.resolve("t", ("yes", "no")).cost("yes", "no") == 3
    assert costs.resolve("t", ("1", "5")).cost("1", "5") == 4


def test_not_yaml_and_not_a_mapping(tmp_path):
    with pytest.raises(UserError, match="not valid YAML"):
        load_costs(write(tmp_path, "default: [unclosed\n"))
    with pytest.raises(UserError, match="mapping"):
        load_costs(write(tmp_path, "- a\n- b\n"))
    assert load_costs(write(tmp_path, "")) == CostFile()


def test_labels_checked_against_output_spaces(tmp_path):
    spaces = {"triage": LABELS, "sentiment": ("positive", "negative"), "summary": ()}
    validate_costs(load_costs(write(tmp_path, URGENT)), spaces)
    with pytest.raises(UserError, match="label 'urgnt' is not in the output space"):
        validate_costs(
            CostFile.model_validate({"tasks": {"triage": {"cost": {"urgnt": {"urgent": 2}}}}}), spaces
        )
    with pytest.raises(UserError, match="unknown task 'triag'"):
        validate_costs(CostFile.model_validate({"tasks": {"triag": {}}}), spaces)
    with pytest.raises(UserError, match="no output space"):
        validate_costs(CostFile.model_validate({"tasks": {"summary": {"cost": {"a": {"b": 1}}}}}), spaces)
    with pytest.raises(UserError, match="label 'maybe'"):
        validate_costs(CostFile.model_validate({"default": {"cost": {"maybe": {"yes": 1}}}}), spaces)


def test_confusion_matrix_with_other_column():
    conf = confusion_matrix(
        ["yes", "yes", "no", "no", "no"], ["Yes", "no", "no", "maybe", "no."], ["yes", "no"]
    )
    assert conf.rows == ("yes", "no")
    assert conf.columns == ("yes", "no", OTHER)
    assert conf.counts == ((1, 1, 0), (0, 2, 1))
    assert conf.total == 5
    odd = confusion_matrix(["unknown"], ["yes"], ["yes", "no"])
    assert odd.rows == ("yes", "no", OTHER)
    assert odd.counts[-1] == (1, 0, 0)


def test_instance_costs_from_results(tmp_path):
    costs = load_costs(write(tmp_path, URGENT))
    rows = [
        InstanceResult("original", "triage", str(i), 0.0, 0.0, prediction=p, references=(g,), labels=LABELS)
        for i, (g, p) in enumerate([("urgent", "not urgent"), ("not urgent", "urgent"), ("urgent", "urgent")])
    ]
    assert instance_costs(rows, costs).tolist() == [20.0, 1.0, 0.0]
    assert np.all(instance_costs(rows, CostFile()) == np.array([1.0, 1.0, 0.0]))
