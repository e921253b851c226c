"""The config refactor must not move a cell id, a config hash or a training fingerprint.

The expected values were recorded on the code before the config types were unified (issue #15): a change
here means cached cells, stored runs or resumable checkpoints would no longer be recognised.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from itprobe.study import TrainJob, expand_grid, load_config
from itprobe.study.engine import train_config_of
from itprobe.study.loading import PACKAGED_CONFIGS, validate_config

# every option that reaches a cell id or a config hash, set away from its default
RICH: dict[str, Any] = {
    "name": "rich",
    "model": "some/model",
    "train_tasks": {"instances_per_task": [2, 7]},
    "arms": {
        "train": [
            {"definition": "simplified", "simplified_template": "Answer {labels}."},
            {"label": "label-rename", "rename_scheme": "semantic", "name": "renamed"},
            {"examples": "none", "input": "content-free"},
        ],
        "test": ["same", {}, {"definition": "empty"}],
    },
    "training": {"method": "full", "lr": 3e-5, "epochs": 2.5, "max_steps": 9, "batch_size": 4,
                 "grad_accum": 2, "precision": "fp32", "lora_r": 8, "max_target_tokens": 64,
                 "checkpoint_every": 5},
    "eval": {"modes": ["rank", "generate"], "length_normalized": True, "batch_size": 3, "precision": "bf16",
             "max_new_tokens": 17, "stop": ["\n\n", "###"], "untuned_model": "openai:http://x/v1#m",
             "cache": False},
    "prompt": {"add_task_name": True, "add_definition": False, "num_pos": 1, "num_neg": 2,
               "add_explanation": True, "max_source_tokens": 300},
    "seeds": [1, 2],
    "baselines": ["random", "untuned"],
}  # fmt: skip


def _ids(config: Any) -> str:
    cells = expand_grid(
        config, model_identity="m@1", train_digest="tr", test_digest="te", untuned_identity="u"
    )
    return hashlib.sha256(" ".join(c.id for c in cells).encode()).hexdigest()[:16] + f"/{len(cells)}"


def _fingerprint(config: Any, tmp: Path) -> str:
    """The fingerprint of the `TrainConfig` the study engine builds for a cell (`train_config_of`, what the
    trainer of in-process weights hands to `itprobe.training.train`)."""
    arm = config.arms.train[0].to_spec(3)
    job = TrainJob(tasks=(), arm=arm, size=5, seed=3, out_dir=tmp, resume=False)
    return train_config_of(config, job).fingerprint("digest", 16)


def pins(tmp: Path = Path("/tmp/x")) -> dict[str, str]:
    configs = {name: load_config(name) for name in PACKAGED_CONFIGS}
    configs["rich"] = validate_config(RICH)
    out: dict[str, str] = {}
    for name, config in configs.items():
        out[f"{name} ids"] = _ids(config)
        out[f"{name} hash"] = config.hash
        out[f"{name} fingerprint"] = _fingerprint(config, tmp)
    return out


EXPECTED: dict[str, str] = {
    "default fingerprint": "76df009f900015f5",
    "default hash": "d5cc5354f7e45203",
    "default ids": "60f4777e415a99e5/7",
    # added with the config (issue #26): its run resumes through these ids across sittings
    "natinst-curve fingerprint": "bdaf6571c60e4550",
    # the hash moved five times: the input-blind controls added as baselines (3 cells; the 30 earlier cells'
    # ids unchanged, checked when they were), the paper's figures declared under report.published,
    # training.checkpoint_every 20, the paper's differences and claims added to report.published
    # (sitting 7: original − simplified / delusive "comparable", original − untuned 30), and original − the
    # random guess 0.4 (sitting 8); none moved an id or the fingerprint, and a stored config keeps its hash
    # (`reference` / `claim` left out while None)
    "natinst-curve hash": "a5741f5f0c361ac3",
    "natinst-curve ids": "d7cd399a996fbcc4/33",
    "natinst-lowres fingerprint": "bdaf6571c60e4550",
    "natinst-lowres hash": "618e3b7840cd9242",
    "natinst-lowres ids": "9a0d16fc6e413f9a/9",
    "natinst-paper fingerprint": "cc94c3c51e513373",
    "natinst-paper hash": "8a86021f6441cf9e",
    "natinst-paper ids": "b20d9fe6bd020cef/111",
    "natinst-small fingerprint": "e1bba5d7a74bc8d1",
    "natinst-small hash": "5ab867568af5eb9a",
    "natinst-small ids": "d0fd27b3d63a8671/7",
    "rich fingerprint": "8f165bfae1b1e281",
    "rich hash": "472ee81dcd38fe31",
    "rich ids": "8578858b2cad77b7/14",
}


def test_cell_ids_hashes_and_fingerprints_are_unchanged(tmp_path: Path) -> None:
    assert pins(tmp_path / "model") == EXPECTED


def test_a_stored_config_keeps_its_hash_when_a_figure_gains_optional_keys() -> None:
    """natinst-curve as its run stored it before `PublishedFigure` had `reference` and `claim` (the first
    three figures): the hash its report prints is the one the run recorded (sittings 3-6)."""
    raw = load_config("natinst-curve").model_dump(mode="json", by_alias=True)
    raw["report"]["published"] = [f for f in raw["report"]["published"] if not f["reference"]]
    assert validate_config(raw).hash == "5356dcc48a658688"
