"""RunState: where a training run stands, and its round trip through state.pt."""

from __future__ import annotations

import torch

from flashcli.training import TrainConfig
from flashcli.training.state import LossSums, RunState


def test_a_fresh_state_and_its_steps():
    st = RunState()
    assert (st.epoch, st.step, st.batch_in_epoch, st.best, st.metrics) == (0, 0, 0, None, {})
    for _ in range(3):
        st.count_step({"g": torch.tensor(2.0), "d": torch.tensor(1.0)})
    assert (st.step, st.batch_in_epoch, st.window.n, st.epoch_sums.n) == (3, 3, 3, 3)
    assert st.window.means() == {"g": 2.0, "d": 1.0}
    assert not st.done(TrainConfig(epochs=1)) and st.done(TrainConfig(epochs=1, steps=3))
    st.epoch = 1
    assert st.done(TrainConfig(epochs=1))


def test_the_state_round_trips_through_its_saved_form():
    st = RunState(epoch=2, step=7, batch_in_epoch=1, best=21.5)
    st.count_step({"g": torch.tensor(4.0)})
    back = RunState.from_saved(st.to_saved())
    assert (back.epoch, back.step, back.batch_in_epoch, back.best) == (2, 8, 2, 21.5)
    assert back.epoch_sums.n == 1 and back.epoch_sums.means() == {"g": 4.0}
    assert back.epoch_sums.seconds() >= st.epoch_sums.snapshot()["seconds"] - 1e-3


def test_older_and_damaged_saved_forms():
    saved = {"epoch": 1, "step": 3, "batch_in_epoch": 0, "best_psnr": 19.0}  # before 0.2
    assert RunState.from_saved(saved).best == 19.0
    damaged = {**saved, "batch_in_epoch": 2, "epoch_sums": {"sums": "garbage"}}
    assert RunState.from_saved(damaged).epoch_sums.n == 0
    assert LossSums.from_snapshot(None).n == 0
