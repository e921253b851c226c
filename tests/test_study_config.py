"""Study config: YAML loading, overrides before validation, clear errors, packaged configs, grid, shards."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from itprobe.baselines import BASELINES
from itprobe.errors import UserError
from itprobe.study import expand_grid, load_config, parse_shard, select_shard, validate_config
from itprobe.study.config import ArmConfig
from itprobe.study.loading import PACKAGED_CONFIGS, apply_overrides


def write(tmp_path: Path, raw: dict, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw))
    return path


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"train_tasks": {"instances_per_tsk": [2]}})
    with pytest.raises(UserError) as err:
        load_config(path)
    assert "unknown key 'train_tasks.instances_per_tsk'" in str(err.value)
    assert str(path) in str(err.value)


def test_unknown_top_level_key_and_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown key 'modle'"):
        validate_config({"modle": "x"})
    with pytest.raises(UserError, match=r"'training.batch_size'.*integer"):
        validate_config({"training": {"batch_size": "eight"}})
    with pytest.raises(UserError, match=r"'seeds'"):
        validate_config({"seeds": []})
    with pytest.raises(UserError, match=r"'train_tasks.instances_per_task.0'"):
        validate_config({"train_tasks": {"instances_per_task": [0]}})


def test_unknown_arm_names_the_known_ones() -> None:
    with pytest.raises(UserError) as err:
        validate_config({"arms": {"train": [{"definition": "simplfied"}]}})
    assert "arms.train.0" in str(err.value)
    assert "simplified" in str(err.value)  # the known names are listed
    with pytest.raises(UserError, match="unknown key 'arms.train.0.defintion'"):
        validate_config({"arms": {"train": [{"defintion": "empty"}]}})


def test_overrides_apply_before_validation(tmp_path: Path) -> None:
    path = write(tmp_path, {"model": "a", "train_tasks": {"instances_per_task": [2]}})
    config = load_config(
        path, ["train_tasks.instances_per_task=[2, 5, 10]", "training.method=full", "model=b"]
    )
    assert config.train_tasks.instances_per_task == [2, 5, 10]
    assert config.training.method == "full"
    assert config.model == "b"
    with pytest.raises(UserError, match="unknown key 'training.epoch'"):
        load_config(path, ["training.epoch=3"])
    with pytest.raises(UserError, match="key.sub=value"):
        load_config(path, ["training.epochs"])
    with pytest.raises(UserError, match="'model' is not a mapping"):
        apply_overrides({"model": "a"}, ["model.sub=1"])


def test_natinst_and_model_options_and_relative_paths(tmp_path: Path) -> None:
    path = write(tmp_path, {"data": {"source": "compact", "train": "tr.jsonl", "test": "/abs/te.jsonl"}})
    config = load_config(path)
    assert config.data.train == str(tmp_path / "tr.jsonl")  # relative to the config file
    assert config.data.test == "/abs/te.jsonl"
    config = load_config(path, natinst=tmp_path / "ni", model="gemma-3-270m")
    assert config.data.source == "natinst"
    assert config.data.path == str((tmp_path / "ni").resolve())
    assert config.model == "gemma-3-270m"


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(UserError, match="no such config"):
        load_config(tmp_path / "absent.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="mapping"):
        load_config(listed)


@pytest.mark.parametrize("name", PACKAGED_CONFIGS)
def test_packaged_configs_validate_and_open_with_their_command(name: str) -> None:
    config = load_config(name)
    assert config.name == name
    from importlib import resources

    text = resources.files("itprobe").joinpath("configs", f"{name}.yaml").read_text()
    first = text.splitlines()[0]
    assert first.startswith("# ") and "itprobe run" in first


def test_default_config_runs_the_papers_comparison() -> None:
    config = load_config(None)
    names = {arm.name for arm in config.arms.train}
    assert {"original", "simplified", "empty", "delusive"} <= names
    assert {"random", "majority", "untuned"} <= set(config.baselines)
    assert config.data.source == "suite" and config.model == "smollm2-135m-instruct"


def test_arm_names() -> None:
    assert ArmConfig().name == "original"
    assert ArmConfig(definition="simplified").name == "simplified"
    assert ArmConfig(examples="none").name == "no-examples"
    assert ArmConfig(definition="empty", examples="delusive").name == "empty+delusive"
    assert ArmConfig(label="label-rename", rename_scheme="semantic").name == "label-rename[semantic]"
    assert ArmConfig.model_validate({"definition": "empty", "name": "blank"}).name == "blank"
    assert ArmConfig(definition="simplified").to_spec(3).seed == 3


def grid_config(**changes: object):
    raw = {
        "arms": {"train": [{}, {"definition": "simplified"}], "test": ["same", {}]},
        "train_tasks": {"instances_per_task": [2, 5]},
        "seeds": [0, 1],
        "eval": {"modes": ["rank", "generate"]},
    }
    raw.update(changes)
    return validate_config(raw)


def test_baselines_list_is_the_registry() -> None:
    config = grid_config(baselines=["demo-majority", "untuned", "train-constant"])
    cells = expand_grid(config, model_identity="m", train_digest="tr", test_digest="te", held_out_digest="h1")
    assert [c.baseline for c in cells if c.kind == "baseline"] == ["demo-majority", "train-constant"]
    moved = expand_grid(config, model_identity="m", train_digest="tr", test_digest="te", held_out_digest="h2")
    # only the control that learns from the held-out instances depends on them
    assert [a.id == b.id for a, b in zip(cells, moved, strict=True)][:2] == [True, False]
    with pytest.raises(UserError, match="unknown baseline.*choose from untuned, random, majority"):
        grid_config(baselines=["oracle"])


def test_grid_expansion_and_stable_ids() -> None:
    config = grid_config()
    cells = expand_grid(config, model_identity="m@1", train_digest="tr", test_digest="te")
    kinds = [c.kind for c in cells]
    # the default baselines: random, the oracle majority and the three input-blind controls
    assert kinds == ["baseline"] * 5 + ["untuned"] + ["trained"] * 8  # 2 arms x 2 sizes x 2 seeds
    assert [c.baseline for c in cells[:5]] == [
        "random", "majority", "first-demo-label", "demo-majority", "train-constant"
    ]  # fmt: skip
    assert len({c.id for c in cells}) == len(cells)
    trained = cells[6:]
    assert [(c.seed, c.size) for c in trained[:4]] == [(0, 2), (0, 2), (0, 5), (0, 5)]
    simplified = trained[1]
    assert [a.name for a in simplified.test_arms] == ["simplified", "original"]
    assert [a.name for a in trained[0].test_arms] == ["original"]  # "same" and {} coincide
    assert [a.name for a in cells[5].test_arms] == ["original", "simplified"]  # untuned: every test arm
    assert simplified.condition(simplified.test_arms[0]) == "simplified"
    assert simplified.condition(simplified.test_arms[1]) == "simplified@original"
    assert cells[5].condition(cells[5].test_arms[1]) == "untuned@simplified"
    again = expand_grid(config, model_identity="m@1", train_digest="tr", test_digest="te")
    assert [c.id for c in again] == [c.id for c in cells]


def test_cell_ids_change_only_with_what_decides_the_cell() -> None:
    base = {
        c.name: c.id
        for c in expand_grid(grid_config(), model_identity="m", train_digest="a", test_digest="b")
    }
    other_model = expand_grid(grid_config(), model_identity="m2", train_digest="a", test_digest="b")
    assert {c.name: c.id for c in other_model if c.kind == "baseline"} == {
        n: i for n, i in base.items() if n in BASELINES
    }
    assert all(base[c.name] != c.id for c in other_model if c.kind != "baseline")
    new_train = expand_grid(grid_config(), model_identity="m", train_digest="a2", test_digest="b")
    assert {c.name: c.id for c in new_train if c.kind != "trained"} == {
        n: i for n, i in base.items() if n in (*BASELINES, "untuned")
    }
    # a larger grid keeps the ids of the cells it shares with the smaller one
    bigger = grid_config(train_tasks={"instances_per_task": [2, 5, 10]})
    ids = {c.name: c.id for c in expand_grid(bigger, model_identity="m", train_digest="a", test_digest="b")}
    assert all(ids[n] == i for n, i in base.items())
    lr = grid_config(training={"lr": 0.01})
    changed = {c.name: c.id for c in expand_grid(lr, model_identity="m", train_digest="a", test_digest="b")}
    assert all(changed[n] != i for n, i in base.items() if " n=" in n)
    assert changed["untuned"] == base["untuned"]


def test_shards_partition_the_grid() -> None:
    cells = expand_grid(grid_config(), model_identity="m", train_digest="a", test_digest="b")
    assert parse_shard("1/3") == (1, 3)
    parts = [select_shard(cells, (i, 3)) for i in range(3)]
    assert sorted(c.id for part in parts for c in part) == sorted(c.id for c in cells)
    assert select_shard(cells, None) == cells
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0", "1/2/3"):
        with pytest.raises(UserError, match="--shard"):
            parse_shard(bad)


def test_test_sizes_limit_the_other_test_arms_to_those_sizes() -> None:
    shuffled = {"input": "shuffled-input"}
    config = grid_config(arms={"train": [{}, {"definition": "simplified"}], "test": ["same", {}, shuffled],
                               "test_sizes": [5]})  # fmt: skip
    cells = expand_grid(config, model_identity="m@1", train_digest="tr", test_digest="te")
    trained = {(c.train_arm.name, c.size, c.seed): c for c in cells if c.kind == "trained"}
    assert [a.name for a in trained["simplified", 2, 0].test_arms] == ["simplified"]
    assert [a.name for a in trained["simplified", 5, 0].test_arms] == [
        "simplified",
        "original",
        "shuffled-input",
    ]
    assert [a.name for a in trained["original", 2, 1].test_arms] == ["original"]
    untuned = next(c for c in cells if c.kind == "untuned")
    assert [a.name for a in untuned.test_arms] == ["original", "shuffled-input", "simplified"]
    # unset, every size gets every test arm, with the ids of a config that never had the key
    plain = expand_grid(grid_config(), model_identity="m@1", train_digest="tr", test_digest="te")
    unset = grid_config(
        arms={"train": [{}, {"definition": "simplified"}], "test": ["same", {}], "test_sizes": None}
    )
    assert [c.id for c in expand_grid(unset, model_identity="m@1", train_digest="tr", test_digest="te")] == [
        c.id for c in plain
    ]
    assert unset.hash == grid_config().hash


def test_decoding_protocol_by_name_with_overrides_and_derived_protocols() -> None:
    config = grid_config(eval={"decoding": "tk-instruct", "also_decoding": ["first-line"]})
    assert config.eval.protocol().key() == {
        "rule": "stop-after-content/v1",
        "max_new_tokens": 128,
        "stop": [],
    }
    (derived,) = config.eval.derived_protocols()
    assert (derived.protocol, derived.max_new_tokens, derived.stop) == ("first-line", 128, ("\n",))
    # the default protocol keeps the ids and hash of a config written before protocols had names
    explicit = {"modes": ["rank", "generate"], "max_new_tokens": 64, "stop": ["\n"]}
    assert grid_config(eval=explicit).hash == grid_config().hash
    with pytest.raises(UserError, match="unknown decoding protocol 'greedy'"):
        grid_config(eval={"decoding": "greedy"})
    # first-line is not a cut of itself at another cap, nor is tk-instruct a cut of first-line
    with pytest.raises(UserError, match="not a cut of 'first-line'"):
        grid_config(eval={"decoding": "first-line", "also_decoding": ["tk-instruct"]})
