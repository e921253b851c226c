"""Two CPU processes (torchrun + Accelerate, gloo) follow the same loss curve as one process.

The same global batch of 4 is one micro-batch of 4 in one process, and one micro-batch of 2 in each of two
processes; every loss term is normalised by the global batch's target-token count, so the two runs take
the same optimizer steps up to float summation order. This file doubles as the training script.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _launch(out: Path, processes: int, batch_size: int) -> list[float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE)}
    args = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(processes),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(Path(__file__)),
        str(out),
        str(batch_size),
    ]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == processes
    return report["losses"]


def test_two_processes_match_one(tmp_path: Path) -> None:
    one = _launch(tmp_path / "one", processes=1, batch_size=4)
    two = _launch(tmp_path / "two", processes=2, batch_size=2)
    assert len(one) == len(two) == 8
    assert two == pytest.approx(one, rel=1e-5)  # measured: max relative difference ~1e-7
    assert one[-1] < one[0]
    # only rank 0 wrote: one log line per step, one model
    log = (tmp_path / "two" / "train.log").read_text().splitlines()
    assert [json.loads(line)["step"] for line in log] == list(range(1, 9))


def _main(out: str, batch_size: str) -> None:
    import torch
    from test_train_helpers import tiny_causal, tiny_loaded, toy_tasks, word_tokenizer

    from itprobe.prompts import PromptConfig
    from itprobe.train import TrainConfig, train

    torch.set_num_threads(1)
    tokenizer = word_tokenizer()
    config = TrainConfig(
        out_dir=Path(out),
        model="tiny",
        prompt=PromptConfig(num_pos=1),
        instances_per_task=12,
        batch_size=int(batch_size),
        max_steps=8,
        lr=3e-3,
        precision="fp32",
        checkpoint_every=0,
    )
    result = train(
        config, toy_tasks(), model=tiny_loaded(tiny_causal(tokenizer), tokenizer, "causal"), progress=False
    )
    from accelerate import PartialState

    state = PartialState()
    if state.is_main_process:
        report = {"processes": state.num_processes, "losses": list(result.losses)}
        (Path(out) / "report.json").write_text(json.dumps(report))


if __name__ == "__main__":
    _main(*sys.argv[1:3])
