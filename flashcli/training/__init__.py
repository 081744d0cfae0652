"""The training engine shared by every trainable method (see ``task.py`` for the contract).

``train(TrainConfig(data=..., out=...))`` runs a training; ``resume_config(run)`` rebuilds
the config of a run to continue it with ``train(config, resume=True)``. The engine is
imported lazily, so plugins importing ``flashcli.training.task`` stay light.
"""

from typing import Any

from flashcli.training.config import TrainConfig

__all__ = ["StepContext", "TrainConfig", "TrainingInterrupted", "TrainingTask", "make_adam",
           "resume_config", "train"]


def __getattr__(name: str) -> Any:
    if name in ("StepContext", "TrainingTask", "make_adam"):  # torch: only when used
        from flashcli.training import task

        return getattr(task, name)
    if name in ("train", "resume_config", "TrainingInterrupted", "Trainer"):
        from flashcli.training import engine

        return getattr(engine, name)
    raise AttributeError(name)
