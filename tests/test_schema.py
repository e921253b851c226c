"""One config language (`itprobe.schema`): the runtime settings types validate themselves, unknown keys
are rejected, a study config embeds them, and the CLI adds no check of its own."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from itprobe.arms import ArmSpec
from itprobe.audit import AuditConfig
from itprobe.cli.options import prompt_config, train_config
from itprobe.errors import UserError
from itprobe.prompts import PromptConfig
from itprobe.study import TrainJob, validate_config
from itprobe.study.config import ArmConfig, StudyConfig, TrainingConfig
from itprobe.study.engine import train_config_of
from itprobe.training import LoraSettings, TrainConfig


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PromptConfig(num_pos=-1), "invalid prompt setting num_pos=-1"),
        (lambda: PromptConfig(max_source_tokens=0), "invalid prompt setting max_source_tokens=0"),
        (lambda: PromptConfig(nm_pos=1), "unknown prompt setting 'nm_pos'"),  # type: ignore[call-arg]
        (lambda: TrainConfig(out_dir=Path("x"), batch_size=0), "invalid training setting batch_size=0"),
        (lambda: TrainConfig(out_dir=Path("x"), method="qlora"), "unknown method 'qlora'; choose full or lora"),  # type: ignore[arg-type]
        (lambda: TrainConfig(out_dir=Path("x"), precision="fp16"), "unknown precision 'fp16'; choose auto, fp32 or bf16"),  # type: ignore[arg-type]
        (lambda: TrainConfig(out_dir=Path("x"), epoch=3), "unknown training setting 'epoch'"),  # type: ignore[call-arg]
        (lambda: TrainConfig(out_dir=Path("x"), save_adapter_only=True), "--save-adapter-only needs --method lora"),
        (lambda: LoraSettings(r=0), "invalid LoRA setting r=0"),
        (lambda: ArmSpec(definition="simplify"), "unknown definition arm 'simplify'"),
        (lambda: ArmSpec(rename_scheme="odd"), "unknown rename scheme 'odd'; known: neutral, semantic"),  # type: ignore[arg-type]
        (lambda: ArmSpec(colour="red"), "unknown arm spec key 'colour'"),  # type: ignore[call-arg]
        (lambda: AuditConfig(tasks_path=Path("t"), precision="fp8"), "unknown precision 'fp8'"),  # type: ignore[arg-type]
        (lambda: AuditConfig(tasks_path=Path("t"), modes=("beam",)), "unknown modes.0 'beam'"),  # type: ignore[arg-type]
        (lambda: AuditConfig(tasks_path=Path("t"), modes=()), "invalid audit setting modes=()"),
        (lambda: AuditConfig(tasks_path=Path("t"), probes=("original", "bogus")), "unknown probe(s) bogus"),
        (lambda: AuditConfig(tasks_path=Path("t"), costs=Path("missing.yaml")), "missing.yaml: no such cost file"),
        (lambda: AuditConfig(tasks_path=Path("t"), max_instances=0), "invalid audit setting max_instances=0"),
        (lambda: AuditConfig(tasks_path=Path("t"), seeds=1), "unknown audit setting 'seeds'"),  # type: ignore[call-arg]
    ],
)  # fmt: skip
def test_runtime_types_refuse_bad_values_with_one_user_error_line(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UserError) as err:
        build()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_types_are_frozen_and_replace_revalidates() -> None:
    prompt = PromptConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        prompt.num_pos = 3  # type: ignore[misc]
    assert dataclasses.replace(prompt, num_pos=3).num_pos == 3
    with pytest.raises(UserError, match="num_pos=-1"):
        dataclasses.replace(prompt, num_pos=-1)


def test_the_cli_helpers_name_the_option() -> None:
    with pytest.raises(UserError, match=r"^invalid prompt setting --pos=-1"):
        prompt_config(
            task_name=False, no_definition=False, pos=-1, neg=0, explanation=False, max_source_tokens=None
        )
    with pytest.raises(UserError, match=r"^unknown --method 'qlora'; choose full or lora$"):
        train_config(out_dir=Path("x"), method="qlora", lora_r=16, lora_alpha=32)
    with pytest.raises(UserError, match=r"^invalid LoRA setting --lora-alpha=0"):
        train_config(out_dir=Path("x"), lora_r=16, lora_alpha=0)


def test_a_study_config_embeds_the_prompt_type_and_names_the_key() -> None:
    config = validate_config({"prompt": {"num_pos": 1, "max_source_tokens": 64}})
    assert type(config.prompt) is PromptConfig and config.prompt == PromptConfig(
        num_pos=1, max_source_tokens=64
    )
    with pytest.raises(UserError, match=r"^<config>: unknown key 'prompt.nm_pos'$"):
        validate_config({"prompt": {"nm_pos": 1}})
    with pytest.raises(UserError, match=r"'prompt.num_neg': Input should be greater than or equal to 0"):
        validate_config({"prompt": {"num_neg": -1}})


def test_the_study_training_section_is_the_train_config_schema() -> None:
    """Every ``training`` key is a `TrainConfig` field of the same type and bounds (but ``lora_r``)."""
    study, runtime = TrainingConfig.model_fields, TrainConfig.__pydantic_fields__  # type: ignore[attr-defined]
    shared = set(study) - {"lora_r"}
    assert shared <= set(runtime)
    for name in shared:
        assert (study[name].annotation, study[name].metadata) == (
            runtime[name].annotation,
            runtime[name].metadata,
        )


def test_a_study_arm_is_a_seedless_arm_spec() -> None:
    arm = {f.name for f in dataclasses.fields(ArmSpec)} - {"seed"}
    assert set(ArmConfig.model_fields) - {"name_"} == arm


def test_the_engine_passes_the_study_settings_through(tmp_path: Path) -> None:
    config = StudyConfig.model_validate({"training": {"lora_r": 4, "epochs": 3}, "prompt": {"num_pos": 0}})
    job = TrainJob(
        tasks=(), arm=ArmSpec(definition="empty", seed=2), size=6, seed=2, out_dir=tmp_path, resume=False
    )
    train = train_config_of(config, job)
    assert train.prompt is config.prompt and train.arms is job.arm
    assert (train.method, train.epochs, train.lora, train.instances_per_task) == (
        "lora",
        3.0,
        LoraSettings(4, 8),
        6,
    )
