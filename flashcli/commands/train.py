"""``flashcli train``: train a method (by default the installed one made for training) on
paired data (thin layer over :func:`flashcli.training.train`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.progress import ProgressColumn
from rich.table import Table
from rich.text import Text

from flashcli import plugins
from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.errors import UsageError
from flashcli.methods import method_options
from flashcli.runtime.lazy import lazy_module
from flashcli.selection import one_method
from flashcli.training.config import TrainConfig

if TYPE_CHECKING:
    from flashcli.training import engine
else:  # imports torch
    engine = lazy_module("flashcli.training.engine")


def _given(ctx: click.Context) -> set[str]:
    """Parameters set on the command line (not defaults)."""
    src = click.core.ParameterSource
    return {name for name in ctx.params
            if ctx.get_parameter_source(name) in (src.COMMANDLINE, src.ENVIRONMENT)}


def _options(params: dict[str, Any]) -> dict[str, Any]:
    method, options, _ = one_method(params.get("method"), params.pop("opts"), None, "train")
    params["method"] = method
    pretrained = params.pop("pretrained")
    if pretrained is not None:  # shorthand for --opt pretrained=true|false
        if pretrained or _has_option(params.get("method"), "pretrained"):
            options.setdefault("pretrained", str(pretrained).lower())
        # --no-pretrained on a method without a pretrained backbone: it starts from scratch anyway
    return options


def _has_option(method: str | None, option: str) -> bool:
    reg = plugins.registry()
    name = method or reg.default_method("train")
    try:
        return any(o.name == option for o in reg.get(name).cls.options)
    except Exception:  # noqa: BLE001 - an unknown method is reported later, with the list
        return True


class _TrainFields(ProgressColumn):
    """Epoch, last logged losses and speed of the training row."""

    def render(self, task) -> Text:
        f = task.fields
        if "epoch" not in f:
            return Text("")
        losses = "  ".join(f"{k} {v:.4f}" for k, v in f["losses"].items())
        speed = f"{f['images_per_s']:.1f} img/s" if f.get("images_per_s") else ""
        return Text(f"epoch {f['epoch']}  {losses}  {speed}")


def _show(summary: dict[str, Any]) -> None:
    table = Table(title=f"flashcli train: {summary['method']}")
    table.add_column("")
    table.add_column("value")
    for key in ("run", "epochs", "steps", "seconds", "images_per_s", "val_pairs", "val_psnr", "val_ssim",
                "best_val_psnr", "test_pairs", "test_psnr", "test_ssim", "weights"):
        value = summary.get(key)
        if value is not None:
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    for name, value in summary.get("losses", {}).items():
        table.add_row(f"loss {name}", f"{value:.5f}")
    if not console.settings().quiet:  # -q: errors and warnings only
        console.out().print(table)


def _dirs(value: tuple[str, str] | None) -> list[str] | None:
    return list(value) if value else None


def _config(ctx: click.Context, params: dict[str, Any]) -> tuple[TrainConfig, bool]:
    """The run's config and whether it resumes one."""
    device = console.settings().device
    if params["resume"]:
        given = _given(ctx) - {"resume", "as_json"}
        overrides = {n: params[n] for n in given}  # the engine refuses those that change the run
        if device != "auto":
            overrides["device"] = device
        return engine.resume_config(params["resume"], **overrides), True
    if not params["data"] and not params["pairs"]:
        raise UsageError("missing DATASET: pass the dataset folder (holding train/ and test/), "
                         "--pairs FLASH_DIR AMBIENT_DIR, or --resume RUN to continue a run")
    options = _options(params)
    fields = {k: v for k, v in params.items() if k in TrainConfig.__dataclass_fields__}
    fields.update(data=params["data"] or "", pairs=_dirs(params["pairs"]),
                  test_pairs=_dirs(params["test_pairs"]))
    _check_options(params.get("method"), options)
    return TrainConfig(**{**fields, "options": options, "device": device}), False


def _check_options(method: str | None, options: dict[str, Any]) -> None:
    """A bad --opt value (or an unknown method) is a usage error before any data is read."""
    if method is None or method.strip():  # an empty name is refused with its own message
        method_options(method or plugins.registry().default_method("train"), options)


@click.command("train")
@click.argument("data", metavar="[DATASET]", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--pairs", nargs=2, type=click.Path(file_okay=False, exists=True), default=None,
              metavar="FLASH_DIR AMBIENT_DIR",
              help="Train on two folders of photos paired by file stem, instead of DATASET.")
@click.option("--test-pairs", nargs=2, type=click.Path(file_okay=False, exists=True), default=None,
              metavar="FLASH_DIR AMBIENT_DIR",
              help="With --pairs: the test pairs (test PSNR/SSIM and grids; never the best weights).")
@click.option("--method", "-m", default=None, metavar="NAME",
              help="Trainable method (default: the one installed as the default for training).")
@click.option("--opt", "opts", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="Method option, repeatable (e.g. --opt width=0.25 --opt adversarial=false).")
@click.option("--out", "-o", type=click.Path(file_okay=False),
              help="Run folder (default runs/<method>-<date>-<time>).")
@click.option("--init", default=None, metavar="WEIGHTS|bundled",
              help="Start from these weights (a file, a run folder, or 'bundled' for the method's "
                   "own) and fine-tune them; their stored options are the defaults.")
@click.option("--resume", type=click.Path(file_okay=False), metavar="RUN",
              help="Continue the run in this folder (state, optimisers, RNG, epoch, step).")
@click.option("--epochs", type=int, default=1000, show_default=True,
              help="Passes over the training pairs (on --resume: the new total).")
@click.option("--steps", type=int, default=None, help="Stop after this many steps instead.")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="Pairs per step, per process.")
@click.option("--crop-size", type=int, default=224, show_default=True,
              help="Side of the square random crops trained on (pixels).")
@click.option("--lr", type=float, default=None, help="Override the method's main learning rate.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the shuffling, the augmentation and the initial weights.")
@click.option("--val-fraction", type=float, default=0.1, show_default=True,
              help="Share of the training pairs held out (by --seed and file name) as the validation "
                   "pairs that choose the best weights; the test pairs never do (0: no best weights).")
@click.option("--pretrained/--no-pretrained", default=None,
              help="Short for --opt pretrained=true|false, for methods with a pretrained backbone.")
@click.option("--category", default=None, help="Train on one FAID category only.")
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default="auto",
              show_default=True, help="Mixed precision (auto: bf16/fp16 on CUDA, off on CPU).")
@click.option("--channels-last/--no-channels-last", default=None,
              help="channels_last memory format (default: on CUDA only).")
@click.option("--compile/--no-compile", "compile", default=False, show_default=True,
              help="torch.compile the networks.")
@click.option("--log-every", type=int, default=50, show_default=True, help="Steps per log line.")
@click.option("--checkpoint-every", type=int, default=10, show_default=True,
              help="Epochs between checkpoints (and one at the end).")
@click.option("--eval-every", type=int, default=10, show_default=True,
              help="Epochs between test PSNR/SSIM and image grids.")
@click.option("--grid-pairs", type=int, default=4, show_default=True,
              help="Test pairs shown in each image grid (grids/epoch_NNNN.png).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@common_options
def command(as_json: bool, **params: Any) -> None:
    """Train a method on DATASET (ROOT/train and ROOT/test, <stem>_flash / <stem>_ambient),
    or on --pairs FLASH_DIR AMBIENT_DIR (files paired by stem; --test-pairs for a test set).

    Writes last/best weights (usable with --weights RUN), state.pt (for --resume), log.jsonl,
    epochs.csv and grids/ into the run folder. Several GPUs:
    torchrun --nproc-per-node N -m flashcli train DATASET ...
    """
    config, resume = _config(click.get_current_context(), params)
    with console.ProgressBar(_TrainFields(), enabled=not as_json) as bar:
        summary = engine.train(config, resume=resume, progress=bar)
    if summary.get("rank", 0) != 0:
        return  # under torchrun, rank 0 reports
    if as_json:
        console.print_json(summary)
    else:
        _show(summary)
