"""The study runner with a fake engine: the grid end to end, store contents, rerun skips, report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from test_study_support import FakeEngine, store_snapshot, tiny_raw

from itprobe.errors import UserError
from itprobe.study import ResultsStore, RunOptions, build_report, run_study, validate_config
from itprobe.study.conditions import condition_of, instance_results
from itprobe.study.notes import training_note_summary
from itprobe.study.report import stored_config
from itprobe.study.store import CellRecord

QUIET = RunOptions(progress=False, report=False)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeEngine]:
    run_dir = tmp_path_factory.mktemp("run")
    engine = FakeEngine()
    run_study(validate_config(tiny_raw()), run_dir, options=RunOptions(progress=False), engine=engine)
    return run_dir, engine


def test_every_cell_is_stored_with_its_answers(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, engine = tiny_run
    with ResultsStore.in_dir(run_dir) as store:
        cells = store.cells()
        tasks = store.tasks()
    assert len(cells) == 5 + 1 + 3 * 2  # random, majority, 3 input-blind controls, untuned; 3 arms x 2 sizes
    assert len(engine.trained) == 6
    by_kind = {k: [c for c in cells if c.kind == k] for k in ("baseline", "untuned", "trained")}
    n_test = sum(1 for t in tasks.values())
    assert n_test == 2  # the primality pair: prime / composite
    for cell in by_kind["trained"]:
        arms = {r.test_arm for r in cell.rows}
        assert arms == ({"original"} if cell.train_arm == "original" else {cell.train_arm, "original"})
        assert {r.mode for r in cell.rows} == {"rank", "generate"}
        assert len(cell.rows) == len(arms) * 2 * 2 * 6  # arms x modes x tasks x instances
        assert cell.info["steps"] == 3 and "train" in cell.timings
        assert all(r.in_space_strict is not None for r in cell.rows)
    untuned = by_kind["untuned"][0]
    assert {r.test_arm for r in untuned.rows} == {"original", "simplified", "empty"}
    rank_rows = [r for r in untuned.rows if r.mode == "rank"]
    assert all(r.prediction in r.labels for r in rank_rows)  # rank mode always answers in the label set
    assert all(r.exact_match == float(r.prediction == r.references[0]) for r in rank_rows)
    assert not (run_dir / "models").exists() or not any((run_dir / "models").iterdir())  # weights dropped


def test_rerun_skips_finished_cells(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    before = store_snapshot(run_dir)
    engine = FakeEngine()
    outcome = run_study(validate_config(tiny_raw()), run_dir, options=QUIET, engine=engine)
    assert (outcome.cells_run, outcome.cells_already_done) == (0, 12)
    assert engine.trained == []
    assert store_snapshot(run_dir) == before


def copy_of_store(run_dir: Path, copy: Path) -> Path:
    """A new run directory holding the finished cells of ``run_dir`` (and no run record)."""
    copy.mkdir()
    with ResultsStore.in_dir(run_dir) as src, ResultsStore.in_dir(copy) as dst:
        for cell in src.cells():
            dst.write_cell(cell, run_id="r")
    return copy


def test_changed_setting_runs_only_the_changed_cells(
    tiny_run: tuple[Path, FakeEngine], tmp_path: Path
) -> None:
    run_dir, _ = tiny_run
    copy = copy_of_store(run_dir, tmp_path / "copy")
    raw = tiny_raw(train_tasks={"instances_per_task": [2, 4, 8]})
    engine = FakeEngine()
    outcome = run_study(validate_config(raw), copy, options=QUIET, engine=engine)
    assert outcome.cells_run == 3  # only size 8, for each of the 3 arms
    assert all(":8:" in spec for spec in engine.trained)


def test_no_resume_refuses_a_directory_with_results(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    options = RunOptions(resume=False, progress=False, report=False)
    with pytest.raises(UserError, match="already holds results"):
        run_study(validate_config(tiny_raw()), run_dir, options=options, engine=FakeEngine())


def test_report_files_and_conditions(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    for name in ("report.md", "report.html", "report.json"):
        assert (run_dir / name).is_file()
    assert list((run_dir / "plots").glob("*.png"))
    data = json.loads((run_dir / "report.json").read_text())
    scores = data["data"]["scores"]
    assert {"original", "simplified", "empty", "untuned", "random draw", "majority"} <= set(scores)
    assert "contrast_consistency" in data["data"]
    markdown = (run_dir / "report.md").read_text()
    assert "Contrast consistency" in markdown and "simplified@original" in markdown
    assert "rule-blind ceiling (%)" in markdown and "input-blind ceiling (%)" in markdown
    assert "/generate" not in markdown  # modes are never mixed in one report
    assert (run_dir / "mode-generate" / "report.md").is_file()


def test_report_rebuilds_from_the_store_alone(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    first = json.loads((run_dir / "report.json").read_text())["data"]
    (run_dir / "report.json").unlink()
    build_report(run_dir)
    again = json.loads((run_dir / "report.json").read_text())["data"]
    assert again == first


def test_report_numbers_match_the_stored_scores(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    with ResultsStore.in_dir(run_dir) as store:
        config = stored_config(store)
        cells = store.cells()
    results = instance_results(cells, config.eval.modes[0])
    assert config.eval.modes == ["rank", "generate"]
    original = [r for r in results if r.condition == "original" and r.size == 4]
    assert len(original) == 12  # 2 tasks x 6 instances, rank mode (the first mode)
    mean = sum(r.exact_match for r in original) / len(original)
    reported = json.loads((run_dir / "report.json").read_text())["data"]["scores"]["original"]
    assert reported["exact_match"]["mean"] == pytest.approx(mean, abs=1e-9)
    generated = json.loads((run_dir / "mode-generate" / "report.json").read_text())["data"]["scores"][
        "original"
    ]
    gen_rows = [r for r in instance_results(cells, "generate") if r.condition == "original" and r.size == 4]
    assert generated["exact_match"]["mean"] == pytest.approx(
        sum(r.exact_match for r in gen_rows) / 12, abs=1e-9
    )
    trained = next(c for c in cells if c.kind == "trained" and c.train_arm == "simplified")
    assert condition_of(trained, "original") == "simplified@original"


def test_report_without_store_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"results\.sqlite"):
        build_report(tmp_path)


def test_progress_lines_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tiny_raw(train_tasks={"instances_per_task": [2]}, arms={"train": [{}], "test": ["same"]})
    run_study(validate_config(raw), tmp_path, options=RunOptions(report=False), engine=FakeEngine())
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "cell 1/7 done: random" in captured.err and "cell 7/7 done: original n=2 seed=0" in captured.err


def test_a_grid_without_the_original_arm_is_stored_but_not_reported(tmp_path: Path) -> None:
    raw = tiny_raw(arms={"train": [{"definition": "empty"}], "test": ["same"]}, baselines=["random"])
    outcome = run_study(
        validate_config(raw), tmp_path, options=RunOptions(progress=False), engine=FakeEngine()
    )
    assert outcome.cells_run == 3 and outcome.reports == {}
    assert "original" in outcome.report_problem
    assert not (tmp_path / "report.md").exists()


def test_cost_file_is_saved_with_the_run_and_reported(tmp_path: Path) -> None:
    from itprobe.study.report import COSTS_FILE, save_costs

    costs = tmp_path / "costs.yaml"
    costs.write_text("default:\n  cost:\n    'Yes': {'No': 20}\n  out_of_space: 5\n")
    raw = tiny_raw(train_tasks={"instances_per_task": [2]}, arms={"train": [{}], "test": ["same"]},
                   report={"costs": str(costs), "n_boot": 100})  # fmt: skip
    config = validate_config(raw)
    run_dir = tmp_path / "run"
    save_costs(config, run_dir)
    costs.unlink()  # the report needs only the run directory
    run_study(config, run_dir, options=RunOptions(progress=False), engine=FakeEngine())
    assert (run_dir / COSTS_FILE).is_file()
    assert "costs" in json.loads((run_dir / "report.json").read_text())["data"]
    with pytest.raises(UserError, match="no such cost file"):
        save_costs(config, tmp_path / "other")


def test_arm_notes_are_summarised_per_arm_with_counts() -> None:
    # issue 13.17: one line per arm and note, not one per task; task-specific notes are counted
    from itprobe.study.notes import arm_note_summary
    from itprobe.study.store import ArmNote

    notes = [ArmNote("delusive", f"task{i}", "delusive: variant wrong-label") for i in range(70)]
    notes += [ArmNote("delusive", "task99", "delusive: variant permuted")]
    notes += [ArmNote("irrelevant", f"task{i}", f"irrelevant: definition of task{i + 1}") for i in range(12)]
    notes += [ArmNote("negated", "task5", "negated: the task provides no negated definition", skipped=True)]
    lines = arm_note_summary(notes)
    assert lines[:2] == [
        "Arm delusive: variant permuted (1 task).",
        "Arm delusive: variant wrong-label (70 tasks).",
    ]
    assert lines[2].startswith(
        "Arm irrelevant: a task-specific note on 12 tasks (e.g. irrelevant: definition of"
    )
    assert "report.json (data.arm_notes)" in lines[2] and len(lines) == 3


def test_follow_arms_and_contrast_pairs_in_the_study_report(tmp_path: Path) -> None:
    # issue 13.1 in the study: a negated test arm (custom name) and a label swap read as "follow" probes
    arms = [
        {},
        {"definition": "simplified"},
        {"definition": "negated", "name": "flip"},
        {"label": "label-swap"},
    ]
    # two seeds: with one, a training arm's line is not a finding at all (issue 25)
    raw = tiny_raw(train_tasks={"instances_per_task": [2]}, arms={"train": arms, "test": ["same"]},
                   eval={"modes": ["generate"]}, seeds=[0, 1])  # fmt: skip
    run_study(validate_config(raw), tmp_path, options=RunOptions(progress=False), engine=FakeEngine())
    data = json.loads((tmp_path / "report.json").read_text())
    for arm in ("flip", "label-swap"):
        line = next(v for v in data["summary"] if f"{arm}: " in v or f"{arm} vs" in v)
        assert (
            "when the instruction changes the task" in line
            or "does not follow the changed instruction" in line
        )
        assert "removing" not in line
    assert any("simplified: removing" in v or "simplified vs original" in v for v in data["summary"])
    assert data["data"]["arm_notes"] and {"test_arm", "task", "note"} == set(data["data"]["arm_notes"][0])
    # one contrast pair; two seeds: the two-level bootstrap
    assert data["data"]["scores"]["original"]["exact_match"]["method"] == "item-cluster+seed (two-level)"


def test_a_config_change_leaves_the_superseded_cells_out_of_the_report(
    tiny_run: tuple[Path, FakeEngine], tmp_path: Path
) -> None:
    run_dir, _ = tiny_run
    copy = copy_of_store(run_dir, tmp_path / "copy")
    # dropping the empty arm changes the untuned cell (it no longer tests with empty): it is recomputed
    raw = tiny_raw(arms={"train": [{}, {"definition": "simplified"}], "test": ["same", {}]})
    outcome = run_study(validate_config(raw), copy, options=QUIET, engine=FakeEngine())
    assert outcome.cells_run == 1
    build_report(copy)
    data = json.loads((copy / "report.json").read_text())["data"]
    assert not any(name.startswith("empty") or name == "untuned@empty" for name in data["scores"])
    old = json.loads((run_dir / "report.json").read_text())["data"]
    assert data["scores"]["untuned"] == old["scores"]["untuned"]  # not counted twice
    markdown = (copy / "report.md").read_text()
    assert "Cells in the store: 10 of the 10" in markdown
    assert "Left out: 3 finished cell(s)" in markdown


def test_a_run_with_only_the_original_arm_finished_does_not_compare_it_with_itself(tmp_path: Path) -> None:
    raw = tiny_raw(arms={"train": [{}], "test": ["same"]})
    run_study(validate_config(raw), tmp_path, options=RunOptions(progress=False), engine=FakeEngine())
    markdown = (tmp_path / "report.md").read_text()
    assert "original − original" not in markdown
    assert "No altered arm has finished yet: only the learning curve of original is shown." in markdown


def test_training_notes_are_summarised_per_arm_and_note() -> None:
    def cell(arm: str, notes: list[str]) -> CellRecord:
        return CellRecord(arm, "trained", arm, arm, 1, 0, "", "m", {}, info={"notes": notes})

    lines = training_note_summary(
        [
            cell("delusive", [f"t{i}: delusive: variant wrong-label" for i in range(5)]
                 + ["t9: delusive: variant permuted", "t9: skipped by the arm"]),
            cell("simplified", []),
        ]
    )  # fmt: skip
    assert lines == [
        "Training with delusive: skipped by the arm (1 training task: t9).",
        "Training with delusive: variant permuted (1 training task: t9).",
        "Training with delusive: variant wrong-label (5 training tasks: t0, t1, t2, …).",
    ]


def test_a_one_seed_study_prints_no_training_arm_finding(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    summary = json.loads((run_dir / "report.json").read_text())["summary"]
    trained = ("simplified", "simplified@original", "empty", "empty@original")
    lines = {arm: next(line for line in summary if f"{arm} vs original (" in line) for arm in trained}
    for arm, line in lines.items():
        assert "a training-arm effect cannot be established with one seed" in line, arm
        assert not any(word in line for word in ("costs", "relies on", "scores higher", "equivalent")), arm
    assert not any("removing" in line for line in summary)  # no condition here is a test-time removal
    tuning = next(line for line in summary if "original − untuned" in line)
    assert "cannot be established with one seed" in tuning and "taught the" not in tuning


def test_primary_comparisons_are_checked_against_the_conditions(tiny_run: tuple[Path, FakeEngine]) -> None:
    from itprobe.report import primary_family
    from itprobe.study.report import _family

    run_dir, _ = tiny_run
    with ResultsStore.in_dir(run_dir) as store:
        cells, tasks = store.cells(), store.tasks()
    declared = validate_config(
        tiny_raw(report={"n_boot": 50, "primary_comparisons": ["simplified@original"]})
    )
    family = _family(declared, cells, tasks, primary_family)
    assert family.primaries == ("simplified@original",)
    assert {m for _, _, m in family.p_adjusted} == {"rank", "generate"} and len(family.p_adjusted) == 4
    assert '"primary_comparisons": ["simplified@original"]' in declared.to_json()
    assert "primary_comparisons" not in validate_config(tiny_raw()).to_json()  # unset: not stored, same hash
    with pytest.raises(UserError, match="report.primary_comparisons: no results for typo"):
        _family(
            validate_config(tiny_raw(report={"primary_comparisons": ["typo"]})), cells, tasks, primary_family
        )


def test_untuned_last_runs_the_untuned_cell_after_the_trained_ones(tmp_path: Path) -> None:
    def finish_order(options: RunOptions, run_dir: Path) -> list[str]:
        run_study(validate_config(tiny_raw()), run_dir, options=options, engine=FakeEngine())
        with ResultsStore.in_dir(run_dir) as store:
            return [c.kind for c in sorted(store.cells(with_rows=False), key=lambda c: c.finished_at)]

    plain = finish_order(QUIET, tmp_path / "a")
    late = finish_order(dataclasses.replace(QUIET, untuned_last=True), tmp_path / "b")
    assert plain.index("untuned") < plain.index("trained")
    assert late[-1] == "untuned" and sorted(late) == sorted(plain)


def test_a_study_part_way_publishes_and_rebuilds_without_a_report(tmp_path: Path, capsys) -> None:
    """Between sittings a study may have no 'original' cell yet: its finished cells still publish, and
    the published folder rebuilds a store that a later run resumes (no report yet, exit 0)."""
    from itprobe.cli import main

    options = dataclasses.replace(QUIET, shard=(0, 12))  # the first cell of the grid only: a baseline
    run_study(validate_config(tiny_raw()), tmp_path / "run", options=options, engine=FakeEngine())
    main(["report", str(tmp_path / "run"), "--publish", str(tmp_path / "pub")])
    main(["report", str(tmp_path / "again"), "--from-published", str(tmp_path / "pub")])
    assert "no report yet" in capsys.readouterr().err
    with ResultsStore.in_dir(tmp_path / "again") as store:
        rebuilt = {c.cell_id for c in store.cells(with_rows=False)}
    with ResultsStore.in_dir(tmp_path / "run") as store:
        assert rebuilt == {c.cell_id for c in store.cells(with_rows=False)} and len(rebuilt) == 1


def test_published_figures_go_beside_the_runs_own_in_the_report_of_their_mode(
    tiny_run: tuple[Path, FakeEngine], tmp_path: Path
) -> None:
    run_dir, _ = tiny_run
    copy = copy_of_store(run_dir, tmp_path / "copy")
    figures = [
        {
            "label": "IT, few instances",
            "condition": "original",
            "sizes": [2, 4],
            "value": 43.0,
            "source": "p. 1",
        },
        {"label": "untuned", "condition": "untuned", "value": 12.8, "source": "second-hand"},
        {"label": "delusive", "condition": "delusive", "sizes": [2], "value": 40.0, "source": "p. 2"},
    ]
    raw = tiny_raw(report={"n_boot": 200, "published": figures})
    outcome = run_study(validate_config(raw), copy, options=RunOptions(progress=False), engine=FakeEngine())
    assert outcome.cells_run == 0  # the report's settings name no cell: nothing reruns
    # the first mode, rank, has no figure: the figures go in the generation report only
    assert "published" not in json.loads((copy / "report.json").read_text())["data"]
    doc = json.loads((copy / "mode-generate" / "report.json").read_text())
    rows = doc["data"]["published"]["figures"]
    assert [(r["condition"], r["size"]) for r in rows] == [
        ("original", 2),
        ("original", 4),
        ("untuned", None),
        ("delusive", 2),
    ]
    with ResultsStore.in_dir(copy) as store:
        results = instance_results(store.cells(), "generate", store.tasks())
    for row in rows[:3]:
        own = [r.exact_match for r in results if r.condition == row["condition"] and r.size == row["size"]]
        assert row["estimate"]["mean"] == pytest.approx(sum(own) / len(own))
        assert row["difference"] == pytest.approx(100 * row["estimate"]["mean"] - row["published"])
    assert rows[3]["estimate"] is None and rows[3]["difference"] is None  # not run: its row says so
    markdown = (copy / "mode-generate" / "report.md").read_text()
    assert "## Beside the published figures" in markdown and "No result yet for: delusive" in markdown


def test_every_cell_records_where_it_ran_beside_its_timings(tiny_run: tuple[Path, FakeEngine]) -> None:
    run_dir, _ = tiny_run
    with ResultsStore.in_dir(run_dir) as store:
        cells = store.cells()
    for cell in cells:
        ran_on = cell.info["ran_on"]
        assert "flags:" in ran_on["cpu"] and ran_on["threads"] >= 1 and len(ran_on["load_average"]) == 3
        assert "total" in cell.timings


def test_prompts_the_token_budget_cut_are_named_in_the_cell_and_the_report(tmp_path: Path) -> None:
    """A prompt over `prompt.max_source_tokens` loses demonstrations, then its end ('Output:'); the cell
    stores a note per test arm and task, and the report's notes count the tasks. A model without a
    tokenizer (the fake engine's) is never cut: no such note."""
    from test_study_support import FakeModel

    from itprobe.prompts import BUDGET_CUT, BUDGET_FEWER

    class Chars:  # one token per character
        def __call__(self, text: str) -> dict[str, list[int]]:
            return {"input_ids": [ord(c) for c in text]}

        def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
            return "".join(map(chr, ids))

    class Tokenizing(FakeEngine):
        def load(self, spec: str) -> FakeModel:
            model = super().load(spec)
            model.tokenizer = Chars()  # type: ignore[attr-defined]
            return model

    raw = tiny_raw(arms={"train": [{}], "test": ["same"]}, train_tasks={"instances_per_task": [2]})
    config = validate_config({**raw, "prompt": {"max_source_tokens": 120}})
    run_study(config, tmp_path / "cut", options=RunOptions(progress=False), engine=Tokenizing())
    with ResultsStore.in_dir(tmp_path / "cut") as store:
        cells = {c.name: c for c in store.cells(with_rows=False)}
    notes = {(n.test_arm, n.note) for n in cells["original n=2 seed=0"].notes}
    assert {("original", BUDGET_CUT), ("original", BUDGET_FEWER)} <= notes
    assert ("original", BUDGET_CUT) in {(n.test_arm, n.note) for n in cells["untuned"].notes}
    report = (tmp_path / "cut" / "report.md").read_text()
    assert f"Arm original: {BUDGET_CUT} (2 tasks)." in report

    run_study(validate_config(raw), tmp_path / "whole", options=QUIET, engine=FakeEngine())
    with ResultsStore.in_dir(tmp_path / "whole") as store:
        assert not any("prompt budget" in n.note for c in store.cells(with_rows=False) for n in c.notes)


def test_the_report_says_which_run_finished_which_cells_and_a_published_rebuild_keeps_it(
    tmp_path: Path,
) -> None:
    """A study spread over sittings: each run (`itprobe run` process) that finished cells is a row of
    'Where and when the cells ran' with its cells and where they ran (`info.ran_on`); publishing carries
    each cell's run, so the store rebuilt from the published files gives the same table."""
    from itprobe.cli import main

    first = dataclasses.replace(QUIET, shard=(0, 2))
    run_study(validate_config(tiny_raw()), tmp_path / "run", options=first, engine=FakeEngine())
    run_study(validate_config(tiny_raw()), tmp_path / "run", options=QUIET, engine=FakeEngine())
    build_report(tmp_path / "run")
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    runs = report["data"]["runs"]
    with ResultsStore.in_dir(tmp_path / "run") as store:
        cells = store.cells(with_rows=False)
        assert [r["run_id"] for r in runs] == [r["run_id"] for r in store.runs()]  # two runs, oldest first
        by_run = {r["run_id"]: sorted(r["cells"]) for r in runs}
        assert by_run == {run: sorted(c.name for c in cells if c.run_id == run) for run in by_run}
    assert (
        len(runs) == 2 and all(r["cells"] for r in runs) and sum(len(r["cells"]) for r in runs) == len(cells)
    )
    assert all(r["where"] != "not recorded" and "threads" in r["where"] for r in runs)
    assert "## Where and when the cells ran" in (tmp_path / "run" / "report.md").read_text()
    main(["report", str(tmp_path / "run"), "--publish", str(tmp_path / "pub")])
    main(["report", str(tmp_path / "again"), "--from-published", str(tmp_path / "pub")])
    again = json.loads((tmp_path / "again" / "report.json").read_text())
    assert again["data"]["runs"] == runs
