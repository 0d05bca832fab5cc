"""The training engine: one loop, one checkpoint format, resuming where it stopped."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facecodec.cli import main
from facecodec.train import engine


@dataclass
class ToyConfig:
    out: str
    device: str = "cpu"
    seed: int = 3
    epochs: int = 3
    epoch_size: int | None = None
    batch_size: int = 4
    warmup_steps: int = 2
    lr: float = 0.1


class ToyObjective:
    """Least squares on 20 fixed points; every step draws noise from the epoch's generator."""

    lr_min_ratio = 0.1

    def __init__(self, config: ToyConfig, stop_at: int | None = None) -> None:
        self.config = config
        self.stop_at = stop_at  # raise at this step, as an interrupted run stops
        self.steps_seen: list[int] = []

    def setup(self, run: engine.Run, resuming: bool) -> int:
        self.run = run
        self.x = torch.linspace(-1, 1, 20)[:, None]
        self.y = 3 * self.x + 1
        self.model = torch.nn.Linear(1, 1)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=self.config.lr, momentum=0.9)
        return 20

    def schedule(self) -> list[tuple[torch.optim.Optimizer, float]]:
        return [(self.optimizer, self.config.lr)]

    def step(self, batch: engine.Batch) -> engine.Terms:
        if batch.step == self.stop_at:
            raise KeyboardInterrupt
        self.steps_seen.append(batch.step)
        idx = torch.as_tensor(batch.indices)
        noise = torch.as_tensor(batch.rng.normal(0, 0.1, (len(idx), 1)), dtype=torch.float32)
        loss = ((self.model(self.x[idx]) - self.y[idx] - noise) ** 2).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.run.apply_gradients(self.optimizer, list(self.model.parameters()))
        return {"loss": float(loss.detach()), "hits": (float(len(idx) - 1), float(len(idx)))}

    def validate(self) -> dict[str, Any]:
        return {"val_weight": float(self.model.weight.detach())}

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.txt").read_text().splitlines()]


def test_the_loop_resumes_where_it_stopped(tmp_path: Path) -> None:
    whole = ToyObjective(ToyConfig(out=str(tmp_path / "whole")))
    engine.run(whole, whole.config)
    assert whole.steps_seen == list(range(15))  # 3 epochs of 5 batches

    parts = ToyConfig(out=str(tmp_path / "parts"))
    first = ToyObjective(parts, stop_at=8)  # interrupted in the second epoch: the first is saved
    with pytest.raises(KeyboardInterrupt):
        engine.run(first, parts)
    assert torch.load(tmp_path / "parts" / "last.pt", weights_only=True)["epoch"] == 0
    second = ToyObjective(parts)
    path = engine.run(second, parts, resume=True)

    assert second.steps_seen == whole.steps_seen[5:]  # from the start of the unfinished epoch
    for a, b in zip(whole.model.parameters(), second.model.parameters()):
        assert torch.equal(a, b)  # the same data order, noise, schedule and optimiser state
    drop = {"seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in _log(tmp_path / "parts")] == [
        {k: v for k, v in r.items() if k not in drop} for r in _log(tmp_path / "whole")
    ]
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 2 and len(json.loads(state["history"])) == 3
    assert json.loads(state["resumes"]) == []  # nothing changed
    # a finished run resumes to nothing; without --resume it starts again
    again = ToyObjective(parts)
    engine.run(again, parts, resume=True)
    assert again.steps_seen == []
    fresh = ToyObjective(parts)
    engine.run(fresh, parts)
    assert fresh.steps_seen == whole.steps_seen


def test_step_terms_are_averaged_per_step_or_as_ratios(tmp_path: Path) -> None:
    toy = ToyObjective(ToyConfig(out=str(tmp_path / "r"), epochs=1, batch_size=8))  # batches of 8, 8, 4
    engine.run(toy, toy.config)
    record = _log(tmp_path / "r")[0]
    assert record["train_hits"] == round((7 + 7 + 3) / 20, 4)  # over faces, not a mean of batch means
    assert record["train_loss"] > 0 and record["val_weight"] == float(toy.model.weight.detach())  # validation merged in


def test_schedule_warms_up_then_decays_with_each_groups_scale() -> None:
    p, q = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [p]}, {"params": [q], "lr_scale": 10.0}], lr=1.0)
    engine.set_learning_rates([(opt, 0.5)], 0.2)
    assert [g["lr"] for g in opt.param_groups] == [0.5 * 0.2, 0.5 * 0.2 * 10.0]


def test_one_checkpoint_format_for_both_objectives(tmp_path: Path, tiny_npz: Path) -> None:
    common = ["--data", str(tiny_npz), "--batch-size", "8", "--epochs", "1", "--device", "cpu"]
    runs = {
        "codec": ["train", "codec", *common, "--out", str(tmp_path / "codec")],
        "classifier": ["train", "classifier", *common, "--out", str(tmp_path / "classifier")],
    }
    states = {}
    for name, args in runs.items():
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        states[name] = torch.load(tmp_path / name / "last.pt", weights_only=True)
    for state in states.values():
        assert set(engine.RUN_KEYS) | {"model", "optimizer"} <= set(state)
        assert state["epoch"] == 0 and json.loads(state["resumes"]) == []
        assert [r["epoch"] for r in json.loads(state["history"])] == [0]
        assert isinstance(json.loads(state["config"]), dict)
    assert set(states["codec"]) - set(states["classifier"]) == {"aux_optimizer"}
    # both resume through the same path: a changed option is recorded for either
    for name, args in runs.items():
        result = CliRunner().invoke(main, [*[a if a != "1" else "2" for a in args], "--resume"])  # --epochs 2
        assert result.exit_code == 0, result.output
        state = torch.load(tmp_path / name / "last.pt", weights_only=True)
        assert state["epoch"] == 1
        assert json.loads(state["resumes"]) == [{"from_epoch": 1, "changed": {"epochs": [1, 2]}}]
    assert np.isfinite(json.loads(states["codec"]["history"])[0]["train_loss"])
