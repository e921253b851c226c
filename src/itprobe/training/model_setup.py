"""Model-side set-up for training: Accelerate, precision, LoRA, optimizer, and saving the result."""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from typing import Any

import torch

from itprobe.errors import UserError
from itprobe.models import LoadedModel, load_model
from itprobe.models.precision import resolve_precision
from itprobe.training.checkpoint import RunState
from itprobe.training.config import TrainConfig
from itprobe.training.output import save_final_model


def accelerator_for() -> Any:
    """An `Accelerator` (it reads torchrun / ``accelerate launch`` settings from the environment).

    Mixed precision is left to `autocast_for` so that ``--precision`` means the same under every launcher.
    Without a GPU, ``cpu=True`` is what makes Accelerate treat a torchrun launch as multi-CPU (gloo) instead
    of running every process as an independent single-process job.
    """
    from accelerate import Accelerator

    return Accelerator(mixed_precision="no", cpu=not torch.cuda.is_available())


def is_sharded(accelerator: Any) -> bool:
    """FSDP and DeepSpeed shard parameters or optimizer state across processes."""
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def configure_sharding(accelerator: Any, config: TrainConfig) -> None:
    """Settings FSDP/DeepSpeed need before `prepare` (untested here: this machine has no GPU)."""
    from accelerate.utils import DistributedType

    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        if config.grad_accum != 1:
            raise UserError(
                "under DeepSpeed use --grad-accum 1 (raise --batch-size or the process count instead)"
            )
        # DeepSpeed sizes its engine from this; itprobe feeds batches itself, so no dataloader is prepared
        accelerator.state.deepspeed_plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = (
            config.batch_size
        )


def autocast_for(precision: str, device: torch.device) -> Any:
    """bf16 autocast over fp32 master weights, or nothing (fp32).

    ``auto`` follows `itprobe.models.resolve_precision`: bf16 on CUDA GPUs that support it and on CPUs with
    AMX or AVX-512-BF16, fp32 elsewhere.
    """

    dtype = resolve_precision(precision, device)
    if dtype == torch.bfloat16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def load_for_training(spec: str, device: torch.device) -> LoadedModel:
    """Load weights in fp32 (the master copy the optimizer updates; compute may still run in bf16)."""

    return load_model(spec, precision="fp32", device=device)


def prepare_trainable(config: TrainConfig, loaded: LoadedModel, init_seed: int) -> tuple[Any, Any]:
    """(the model to save, the Hugging Face module the objective wraps).

    Full fine-tuning: both are the model itself. LoRA: a `peft.PeftModel` (saved merged or as an adapter)
    and its base model with the LoRA layers injected; only LoRA matrices require gradients.
    """
    model = loaded.model.float()
    model.train()
    if config.method == "full":
        for param in model.parameters():
            param.requires_grad_(True)
        return model, model
    from peft import TaskType

    task_type = TaskType.SEQ_2_SEQ_LM if loaded.kind == "seq2seq" else TaskType.CAUSAL_LM
    torch.manual_seed(init_seed)  # LoRA's A matrices start random
    with warnings.catch_warnings():
        # peft calls a transformers method deprecated in v5; the warning is noise for our users
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft_model = _wrap_lora(model, config, task_type)
    return peft_model, peft_model.get_base_model()


def _wrap_lora(model: Any, config: TrainConfig, task_type: Any) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = config.lora
    return get_peft_model(
        model,
        LoraConfig(
            r=lora.r,
            lora_alpha=lora.alpha,
            lora_dropout=lora.dropout,
            task_type=task_type,
            target_modules=list(lora.target_modules)
            if isinstance(lora.target_modules, tuple)
            else lora.target_modules,
        ),
    )


def make_optimizer(objective: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW (betas 0.9/0.999, eps 1e-8, as the Hugging Face Trainer) over the trainable parameters.

    The fused kernel (CPU and CUDA) is several times faster than the per-tensor loop PyTorch picks by
    default on CPU, and just as deterministic.
    """
    params = [p for p in objective.parameters() if p.requires_grad]
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(
        params,
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
        betas=(0.9, 0.999),
        eps=1e-8,
        fused=fused,
    )


def final_metadata(
    config: TrainConfig, loaded: LoadedModel, resolved: dict[str, Any], state: RunState, task_names: list[str]
) -> dict[str, Any]:
    """The ``itprobe_model.json`` content: what was trained, on what, how."""
    return {
        "itprobe": "trained-model",
        "base_model": config.model,
        "base_identity": resolved["base_identity"],
        "kind": loaded.kind,
        "method": config.method,
        "adapter_only": config.save_adapter_only,
        "arms": dataclasses.asdict(config.arms) if config.arms is not None else None,
        "seed": config.seed,
        "data": config.data,
        "tasks": task_names,
        "instances_per_task": config.instances_per_task,
        "n_examples": resolved["n_examples"],
        "prompt": dataclasses.asdict(config.prompt),
        "steps": state.step,
        "final_loss": state.losses[-1] if state.losses else None,
        "fingerprint": state.fingerprint,
    }


def save_trained(
    config: TrainConfig,
    accelerator: Any,
    objective: Any,
    trainable: Any,
    tokenizer: Any,
    metadata: dict[str, Any],
) -> Any:
    """Save the final model on the main process (LoRA merged unless ``save_adapter_only``)."""
    state_dict = None
    if is_sharded(accelerator):
        if config.method == "lora":
            raise UserError("saving LoRA under FSDP/DeepSpeed is not supported; use DDP for LoRA")
        full = accelerator.get_state_dict(objective)  # collective: every process takes part
        state_dict = {k.removeprefix("model."): v for k, v in full.items()}
    target = config.out_dir / "model"
    if accelerator.is_main_process:
        to_save = trainable
        if config.method == "lora" and not config.save_adapter_only:
            to_save = trainable.merge_and_unload()
        save_final_model(config.out_dir, to_save, tokenizer, metadata, state_dict=state_dict)
    accelerator.wait_for_everyone()
    return target
