"""`itprobe run`, `itprobe report`, `itprobe merge` end to end on a tiny random Llama and a tiny suite."""

from __future__ import annotations

import gzip
import json
import math
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml
from test_study_support import store_snapshot

from itprobe.cli import main
from itprobe.decoding import cut_answer
from itprobe.study import ResultsStore
from itprobe.study.data import load_study_data
from itprobe.study.report import stored_config


@pytest.fixture(scope="module")
def tiny_llama(tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return out


def study_yaml(tmp_path: Path, model: Path) -> Path:
    raw = {
        "name": "cli-tiny",
        "model": str(model),
        "data": {"source": "suite", "suite": {"families": ["parity", "primality"], "test_families": ["primality"],
                                              "instances_per_task": 4, "test_instances_per_task": 4}},
        "train_tasks": {"instances_per_task": [2]},
        "test_tasks": {"instances_per_task": 4},
        "arms": {"train": [{}, {"definition": "simplified"}], "test": ["same"]},
        "training": {"method": "lora", "max_steps": 2, "batch_size": 2, "precision": "fp32", "lr": 1e-3},
        "eval": {"modes": ["rank"], "batch_size": 4, "precision": "fp32"},
        "report": {"n_boot": 200},
    }  # fmt: skip
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def cli_run(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cli")
    config = study_yaml(tmp, tiny_llama)
    main(["run", str(config), "--out", str(tmp / "run"), "--no-progress"])
    return config, tmp / "run"


def test_run_writes_store_and_report(cli_run: tuple[Path, Path]) -> None:
    _, run_dir = cli_run
    for name in ("results.sqlite", "report.md", "report.html", "report.json"):
        assert (run_dir / name).is_file()
    assert list((run_dir / "plots").glob("*.png"))
    assert not any((run_dir / "models").iterdir())  # trained weights dropped once stored
    with ResultsStore.in_dir(run_dir) as store:
        cells = {c.name: c for c in store.cells()}
    assert set(cells) == {
        *("random", "majority", "first-demo-label", "demo-majority", "train-constant", "untuned"),
        *("original n=2 seed=0", "simplified n=2 seed=0"),
    }
    trained = cells["simplified n=2 seed=0"]
    assert trained.info["steps"] == 2 and math.isfinite(trained.info["final_loss"])
    assert len(trained.rows) == 8  # 2 test tasks x 4 instances, one test arm, one mode
    assert {r.test_arm for r in cells["untuned"].rows} == {"original", "simplified"}


def test_rank_answers_and_scores_are_consistent(cli_run: tuple[Path, Path]) -> None:
    from itprobe.metrics import exact_match

    _, run_dir = cli_run
    with ResultsStore.in_dir(run_dir) as store:
        cells = store.cells()
    for cell in cells:
        for r in cell.rows:
            assert r.exact_match == exact_match(r.prediction, list(r.references))
            if cell.kind != "baseline":  # rank mode: the answer is the label with the highest log-prob
                best = max(range(len(r.labels)), key=lambda j: (r.label_logprobs[j], -j))
                assert r.prediction == r.labels[best]
    report = json.loads((run_dir / "report.json").read_text())["data"]["scores"]
    for cell in cells:
        if cell.kind == "trained":
            mean = sum(r.exact_match for r in cell.rows) / len(cell.rows)
            assert report[cell.train_arm]["exact_match"]["mean"] == pytest.approx(mean, abs=1e-12)
    majority = next(c for c in cells if c.baseline == "majority")
    from itprobe.baselines import majority_label
    from itprobe.suites import SuiteConfig, generate_suite

    suite = generate_suite(0, SuiteConfig(families=("parity", "primality"), test_families=("primality",),
                                          instances_per_task=4, test_instances_per_task=4))  # fmt: skip
    expected = [float(i.outputs[0] == majority_label(t)) for t in suite.test for i in t.instances]
    assert [r.exact_match for r in majority.rows] == expected


def test_rerun_and_report_rebuild(cli_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    config, run_dir = cli_run
    before = store_snapshot(run_dir)
    report_before = json.loads((run_dir / "report.json").read_text())["data"]
    main(["run", str(config), "--out", str(run_dir), "--no-progress", "--no-report"])
    assert "0 cell(s) run, 8 already done" in capsys.readouterr().err
    assert store_snapshot(run_dir) == before
    (run_dir / "report.html").unlink()
    main(["report", str(run_dir)])
    assert (run_dir / "report.html").is_file()
    assert json.loads((run_dir / "report.json").read_text())["data"] == report_before


def test_merge_command(cli_run: tuple[Path, Path], tmp_path: Path) -> None:
    _, run_dir = cli_run
    main(["merge", str(tmp_path / "merged"), str(run_dir)])
    assert store_snapshot(tmp_path / "merged") == store_snapshot(run_dir)
    assert (tmp_path / "merged" / "report.md").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--shard", "2/2", "--no-progress"], "--shard '2/2' must be i/n"),
        (["run", "--set", "training.epochz=1"], "unknown key 'training.epochz'"),
        (["run", "no-such-config.yaml"], "no such config"),
        (["report", "."], "results.sqlite"),
    ],
)
def test_user_errors_are_one_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str],
                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing written


def test_plan_lists_cells_marks_done_ones_and_runs_nothing(
    cli_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, run_dir = cli_run
    before = store_snapshot(run_dir)
    main(["run", str(config), "--out", str(run_dir), "--plan"])
    done = capsys.readouterr().out
    assert store_snapshot(run_dir) == before  # a plan writes nothing
    assert "0 of 8 cells to run" in done and "simplified n=2 seed=0" in done
    main(["run", str(config), "--out", str(tmp_path / "fresh"), "--plan"])
    fresh = capsys.readouterr().out
    assert "8 of 8 cells to run" in fresh and not (tmp_path / "fresh").exists()
    rows = {line.split()[0]: line for line in fresh.splitlines() if line.startswith(("original", "untuned"))}
    assert "2 ex" not in rows["untuned"] and "simplified x rank" not in rows["original"]
    assert "estimated time left" in fresh
    assert any(line.startswith("CPU: ") and "flags:" in line for line in fresh.splitlines())
    assert "decode measured" not in fresh  # rank only: nothing to decode, the model is not loaded
    # with generation left to run, its decode steps are timed with the model on this CPU
    main(["run", str(config), "--out", str(tmp_path / "gen"), "--plan", "--set", "eval.modes=[generate]"])
    generating = capsys.readouterr().out
    assert (
        "decode measured: " in generating and " s per step of 64 rows" in generating
    )  # the engine's decode pool


@pytest.fixture(scope="module")
def tk_run(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tk-instruct study with first-line beside it, on the tiny model (the run dir is ``tk``)."""
    tmp_path = tmp_path_factory.mktemp("tk")
    raw = yaml.safe_load(study_yaml(tmp_path, tiny_llama).read_text())
    raw["arms"]["train"] = [{}, {"definition": "simplified"}]
    raw["eval"] = {"modes": ["generate", "rank"], "batch_size": 4, "precision": "fp32", "decoding": "tk-instruct",
                   "max_new_tokens": 12, "also_decoding": ["first-line"]}  # fmt: skip
    (tmp_path / "tk.yaml").write_text(yaml.safe_dump(raw))
    main(["run", str(tmp_path / "tk.yaml"), "--out", str(tmp_path / "tk"), "--no-progress"])
    return tmp_path / "tk"


def _figures(report_dir: Path) -> dict:
    """What a report says, less where and when it was made."""
    report = json.loads((report_dir / "report.json").read_text())
    report.pop("provenance", None)
    return report


def test_published_predictions_recompute_every_figure(tk_run: Path, tmp_path: Path) -> None:
    main(["report", str(tk_run), "--publish", str(tmp_path / "pub")])
    lines = [
        json.loads(x)
        for x in gzip.decompress((tmp_path / "pub" / "predictions.jsonl.gz").read_bytes()).splitlines()
    ]
    assert {x["condition"] for x in lines} >= {"untuned", "original", "simplified", "random draw"}
    assert all(set(x["protocols"]) == {"first-line"} for x in lines if x["mode"] == "generate" and x["raw"])
    # texts are normal forms of at most two words, or withheld as a digest
    texts = [t for x in lines for t in (x["answer"], x["raw"], *x["references"], *x["labels"])]
    assert all(len(t.split()) <= 2 or t.startswith("withheld:") for t in texts)
    assert any(t.startswith("withheld:") for t in texts)  # the tiny model rambles: something was withheld
    main(["report", str(tmp_path / "again"), "--from-published", str(tmp_path / "pub")])
    for sub in ("", "mode-rank", "decoding-first-line"):
        assert _figures(tmp_path / "again" / sub) == _figures(tk_run / sub), sub


def test_one_greedy_pass_serves_both_protocols(tiny_llama: Path, tmp_path: Path) -> None:
    """Under tk-instruct the store keeps each whole continuation; the first-line report is cut from it,
    equals a first-line run at the same cap answer for answer, and the headline report carries the
    evaluator's format help."""
    raw = yaml.safe_load(study_yaml(tmp_path, tiny_llama).read_text())
    raw["arms"]["train"] = [{}]
    raw["eval"] = {"modes": ["generate"], "batch_size": 4, "precision": "fp32", "decoding": "tk-instruct",
                   "max_new_tokens": 12, "also_decoding": ["first-line"]}  # fmt: skip
    (tmp_path / "tk.yaml").write_text(yaml.safe_dump(raw))
    main(["run", str(tmp_path / "tk.yaml"), "--out", str(tmp_path / "tk"), "--no-progress"])
    raw["eval"].update(decoding="first-line", also_decoding=[])
    (tmp_path / "fl.yaml").write_text(yaml.safe_dump(raw))
    main(["run", str(tmp_path / "fl.yaml"), "--out", str(tmp_path / "fl"), "--no-progress"])

    def answers(run: Path) -> dict[tuple[str, str, str], tuple[str, str]]:
        with ResultsStore.in_dir(run) as store:
            return {(c.name, r.task, r.id): (r.prediction, r.raw) for c in store.cells() if c.kind != "baseline"
                    for r in c.rows}  # fmt: skip

    tk, fl = answers(tmp_path / "tk"), answers(tmp_path / "fl")
    assert tk.keys() == fl.keys() and tk
    assert all(raw_ and raw_.strip() == answer for answer, raw_ in tk.values())  # the whole generation
    cut = {k: cut_answer(raw_, ("\n",)) for k, (_, raw_) in tk.items()}
    assert cut == {k: answer for k, (answer, _) in fl.items()}
    report = json.loads((tmp_path / "tk" / "report.json").read_text())
    assert report["summary"][0].startswith(
        "Answers: generation under the decoding protocol tk-instruct, cap 12"
    )
    assert {r["condition"] for r in report["data"]["format_help"]["first-line"]["rows"]} >= {
        "untuned",
        "original",
    }
    derived = json.loads((tmp_path / "tk" / "decoding-first-line" / "report.json").read_text())
    assert derived["title"].endswith("(decoding first-line)")


def test_the_published_prediction_cache_leaves_out_answers_that_copy_task_text(
    tk_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --publish` copies the run's prediction cache without the answers that copy the study's task
    text (a base model continuing its prompt), keeps every other answer, and leaves the run's cache as it
    was; `--no-publish-cache` writes none."""
    run = tmp_path / "run"
    shutil.copytree(tk_run, run)
    with ResultsStore.in_dir(run) as store:
        data = load_study_data(stored_config(store))
    source = data.test[0].definition
    assert len(source.split()) >= 8
    copied = {"whole": {"text": f"  {source}\n"}, "continued": {"text": f"Output: yes. {source} and so on"}}
    cache = run / "cache" / "predictions.sqlite"
    with sqlite3.connect(cache) as conn:
        before = dict(conn.execute("SELECT key, value FROM predictions"))
        conn.executemany(
            "INSERT INTO predictions VALUES (?, ?)", [(k, json.dumps(v)) for k, v in copied.items()]
        )
    main(["report", str(run), "--publish", str(tmp_path / "pub")])
    assert "answers kept, 2 left out" in capsys.readouterr().err
    with sqlite3.connect(tmp_path / "pub" / "prediction-cache.sqlite") as conn:
        published = dict(conn.execute("SELECT key, value FROM predictions"))
    assert published == before and before  # the tiny model's own answers copy nothing: all kept
    with sqlite3.connect(cache) as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone()[0] == len(before) + 2
    main(["report", str(run), "--publish", str(tmp_path / "pub2"), "--no-publish-cache"])
    assert not (tmp_path / "pub2" / "prediction-cache.sqlite").exists()
    # the data moved since the run: refused in one line before anything is written
    with sqlite3.connect(run / "results.sqlite") as conn:
        (stored,) = conn.execute("SELECT config_json FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
        moved = {**json.loads(stored), "data": {"source": "natinst", "path": str(tmp_path / "gone")}}
        conn.execute("UPDATE runs SET config_json = ?", (json.dumps(moved),))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(run), "--publish", str(tmp_path / "pub3")])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "pass --natinst PATH where the data is now, or --no-publish-cache" in err
    assert not (tmp_path / "pub3" / "study.json").exists()


def test_an_answer_copies_text_whole_or_by_a_run_of_eight_words() -> None:
    from itprobe.study.publish import TextIndex

    index = TextIndex(["Is the following review positive? The food was cold and the waiter never came back."])
    assert index.copies("The food was cold and the")  # whole, inside the text
    assert index.copies("Answer: yes. the FOOD was cold and the waiter never came back; then")  # 8 words
    assert not index.copies("the food was cold and the waiter left")  # 7 words in common
    assert not index.copies("positive")  # a label
    assert not index.copies("was cold")  # under three words
