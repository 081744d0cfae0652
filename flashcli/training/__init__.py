"""The training engine shared by every trainable method (see ``task.py`` for the contract).

``train(TrainConfig(data=..., out=...))`` runs a training; ``resume_config(run)`` rebuilds
the config of a run to continue it with ``train(config, resume=True)``. The engine is
imported lazily, so plugins importing ``flashcli.training.task`` stay light.
"""

from typing import TYPE_CHECKING

from flashcli.runtime.lazy import lazy_exports
from flashcli.training.config import TrainConfig

if TYPE_CHECKING:
    from flashcli.training.engine import Trainer as Trainer  # public, not in __all__
    from flashcli.training.engine import TrainingInterrupted, resume_config, train
    from flashcli.training.task import StepContext, TrainingTask, make_adam

__all__ = ["StepContext", "TrainConfig", "TrainingInterrupted", "TrainingTask", "make_adam",
           "resume_config", "train"]

# The engine and the task contract import torch: only when a name is first read.
__getattr__ = lazy_exports(__name__, {
    **dict.fromkeys(["StepContext", "TrainingTask", "make_adam"], "flashcli.training.task"),
    **dict.fromkeys(["Trainer", "TrainingInterrupted", "resume_config", "train"],
                    "flashcli.training.engine"),
})
