"""Resume after ``kill -9``: the final weights equal those of an uninterrupted run (fp32, bit for bit).

The run happens in a subprocess (this file doubles as its script) that SIGKILLs itself after step 6, two
steps past the checkpoint at step 4; a second process resumes from that checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
KILL_AFTER = 6


def _run(out: Path, variant: str, kill: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    args = [sys.executable, str(Path(__file__)), str(out), variant, "kill" if kill else "run"]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("variant", ["causal-full", pytest.param("seq2seq-lora", marks=pytest.mark.slow)])
def test_killed_run_resumes_to_identical_weights(tmp_path: Path, variant: str) -> None:
    from safetensors.torch import load_file

    reference = _run(tmp_path / "reference", variant, kill=False)
    assert reference.returncode == 0, reference.stderr[-2000:]

    killed = _run(tmp_path / "resumed", variant, kill=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "resumed" / "model").exists()
    steps = sorted(
        p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir() if p.name.startswith("step-")
    )
    assert steps == ["step-000004"]

    resumed = _run(tmp_path / "resumed", variant, kill=False)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    report = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert report["resumed_from"] == 4
    assert report["losses"] == json.loads(reference.stdout.strip().splitlines()[-1])["losses"]

    a = load_file(str(tmp_path / "reference" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model" / "model.safetensors"))
    assert a.keys() == b.keys()
    assert all((a[k] == b[k]).all() for k in a)
    log = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "train.log").read_text().splitlines()]
    assert log == list(range(1, 13))  # the killed run's steps 5-6 were replaced, not duplicated


def _main(out: str, variant: str, mode: str) -> None:
    import torch
    from test_train_helpers import tiny_causal, tiny_loaded, tiny_seq2seq, toy_tasks, word_tokenizer

    from itprobe.prompts import PromptConfig
    from itprobe.train import TrainConfig, train

    torch.set_num_threads(1)
    kind, method = variant.split("-")
    tokenizer = word_tokenizer()
    # dropout on, so the resumed run must redraw the same masks (T5's dropout_rate is 0.1 by default)
    model = tiny_causal(tokenizer, attention_dropout=0.1) if kind == "causal" else tiny_seq2seq(tokenizer)
    config = TrainConfig(
        out_dir=Path(out),
        model="tiny",
        prompt=PromptConfig(num_pos=1),
        instances_per_task=12,
        batch_size=4,
        max_steps=12,
        lr=3e-3,
        method=method,
        precision="fp32",  # type: ignore[arg-type]
        checkpoint_every=4,
        keep_checkpoints=1,
    )

    def on_step(info: object) -> None:
        if mode == "kill" and getattr(info, "step", 0) == KILL_AFTER:
            os.kill(os.getpid(), signal.SIGKILL)

    result = train(
        config, toy_tasks(), model=tiny_loaded(model, tokenizer, kind), progress=False, on_step=on_step
    )
    print(json.dumps({"resumed_from": result.resumed_from, "losses": list(result.losses)}))


if __name__ == "__main__":
    _main(*sys.argv[1:4])
