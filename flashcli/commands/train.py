"""``flashcli train``: train a method (the paper's guided cGAN by default) on paired data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from flashcli import console
from flashcli.cli import common_options
from flashcli.enhancer import parse_opt_pairs
from flashcli.errors import FlashcliError
from flashcli.training.config import TrainConfig

#: click parameter name -> TrainConfig field, for the options a resumed run may change.
_OVERRIDES = {"dataset": "data", "epochs": "epochs", "steps": "steps", "amp": "amp",
              "compile_": "compile", "channels_last": "channels_last", "log_every": "log_every",
              "checkpoint_every": "checkpoint_every", "eval_every": "eval_every"}


def _given(ctx: click.Context) -> set[str]:
    """Parameters set on the command line (not defaults)."""
    src = click.core.ParameterSource
    return {name for name in ctx.params
            if ctx.get_parameter_source(name) in (src.COMMANDLINE, src.ENVIRONMENT)}


def build_config(params: dict[str, Any], device: str) -> TrainConfig:
    """A new run's ``TrainConfig`` from the command's parameters."""
    if not params["dataset"]:
        raise FlashcliError("missing DATASET: pass the dataset folder (holding train/ and test/), "
                            "or --resume RUN to continue a run")
    from flashcli.plugins import registry

    method = params["method"] or registry().default_method("train")
    out = params["out"] or str(Path("runs") / f"{method}-{time.strftime('%Y%m%d-%H%M%S')}")
    options = parse_opt_pairs(params["opts"])
    if params["pretrained"] is not None:  # shorthand for --opt pretrained=true|false
        options.setdefault("pretrained", str(params["pretrained"]).lower())
    return TrainConfig(
        data=params["dataset"], out=out, method=method, options=options,
        epochs=params["epochs"], steps=params["steps"], batch_size=params["batch_size"],
        crop_size=params["crop_size"], seed=params["seed"], lr=params["lr"],
        category=params["category"], device=device, amp=params["amp"],
        channels_last=params["channels_last"], compile=params["compile_"],
        log_every=params["log_every"], checkpoint_every=params["checkpoint_every"],
        eval_every=params["eval_every"], grid_pairs=params["grid_pairs"],
    )


def _show(summary: dict[str, Any]) -> None:
    table = Table(title=f"flashcli train: {summary['method']}")
    table.add_column("")
    table.add_column("value")
    for key in ("run", "epochs", "steps", "seconds", "images_per_s", "test_psnr", "test_ssim",
                "best_test_psnr", "weights"):
        value = summary.get(key)
        if value is not None:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    for name, value in summary.get("losses", {}).items():
        table.add_row(f"loss {name}", f"{value:.5f}")
    console.out().print(table)


@click.command("train")
@click.argument("dataset", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--method", "-m", default=None,
              help="Trainable method (default: the one installed as the default for training).")
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE",
              help="Method option, repeatable (e.g. --opt width=0.25 --opt adversarial=false).")
@click.option("--out", "-o", type=click.Path(file_okay=False),
              help="Run folder (default runs/<method>-<date>-<time>).")
@click.option("--resume", type=click.Path(file_okay=False), metavar="RUN",
              help="Continue the run in this folder (state, optimisers, RNG, epoch, step).")
@click.option("--epochs", type=int, default=1000, show_default=True)
@click.option("--steps", type=int, default=None, help="Stop after this many steps instead.")
@click.option("--batch-size", type=int, default=8, show_default=True, help="Per process.")
@click.option("--crop-size", type=int, default=224, show_default=True)
@click.option("--lr", type=float, default=None, help="Override the method's main learning rate.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--pretrained/--no-pretrained", default=None,
              help="Short for --opt pretrained=true|false, for methods with a pretrained backbone.")
@click.option("--category", default=None, help="Train on one FAID category only.")
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default="auto",
              show_default=True, help="Mixed precision (auto: bf16/fp16 on CUDA, off on CPU).")
@click.option("--channels-last/--no-channels-last", default=None,
              help="channels_last memory format (default: on CUDA only).")
@click.option("--compile/--no-compile", "compile_", default=False, show_default=True,
              help="torch.compile the networks.")
@click.option("--log-every", type=int, default=50, show_default=True, help="Steps per log line.")
@click.option("--checkpoint-every", type=int, default=10, show_default=True, help="Epochs.")
@click.option("--eval-every", type=int, default=10, show_default=True,
              help="Epochs between test PSNR/SSIM and image grids.")
@click.option("--grid-pairs", type=int, default=4, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@common_options
def command(as_json: bool, **params: Any) -> None:
    """Train a method on DATASET (ROOT/train and ROOT/test, <stem>_flash / <stem>_ambient).

    Writes last/best weights (usable with --weights RUN), state.pt (for --resume), log.jsonl,
    epochs.csv and grids/ into the run folder. Several GPUs:
    torchrun --nproc-per-node N -m flashcli train DATASET ...
    """
    from flashcli.training.engine import resume_config, train

    ctx = click.get_current_context()
    device = console.settings.device
    if params["resume"]:
        given = _given(ctx) - {"resume", "as_json"}
        bad = sorted(f"--{n.rstrip('_').replace('_', '-')}" for n in given if n not in _OVERRIDES)
        if bad:
            raise FlashcliError(f"{params['resume']}: {', '.join(bad)} cannot change when resuming; "
                                "drop them, or start a new run with --out")
        overrides = {_OVERRIDES[n]: params[n] for n in given}
        if device != "auto":
            overrides["device"] = device
        config = resume_config(params["resume"], **overrides)
        summary = train(config, resume=True)
    else:
        summary = train(build_config(params, device))
    if summary.get("rank", 0) != 0:
        return  # under torchrun, rank 0 reports
    if as_json:
        console.print_json(summary)
    else:
        _show(summary)
