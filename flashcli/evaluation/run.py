"""The evaluation as a whole: :func:`evaluate` (pairs, plan, scoring, in that order) and
:func:`run_eval`, the whole of ``flashcli eval`` as a function (the data as the command takes
it, the default methods, then the report written)."""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from flashcli import __version__, plugins, selection
from flashcli.datasets import Pair, PairSet
from flashcli.enhancer import Enhancer, resolve_working_size
from flashcli.errors import UsageError
from flashcli.evaluation.pairs import check_collected, collect_pairs, data_of
from flashcli.evaluation.plan import EvalConfig, method_list, start_methods
from flashcli.evaluation.report import EvalResult, write_report
from flashcli.evaluation.score import Scoring, compare, summaries, working_size_of
from flashcli.methods import default_methods
from flashcli.ops import metrics
from flashcli.runtime.device import resolve_device
from flashcli.runtime.progress import ProgressFn

log = logging.getLogger(__name__)


def evaluate(
    data: str | Path | PairSet | Sequence[Pair],
    methods: Sequence[str],
    weights: Mapping[str, str | Path] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    config: EvalConfig | None = None,
    *,
    progress: ProgressFn | bool | None = None,
    **settings: Any,
) -> EvalResult:
    """Score ``methods`` on the flash/ambient pairs of ``data``.

    ``data`` is a dataset folder (``split``, ``category`` apply), a ``PairSet`` or a list of
    ``Pair``. ``weights`` maps a method to its weights file or run folder, ``options`` a
    method to its option dict. ``config`` (an :class:`EvalConfig`) and keyword
    ``settings`` (its fields) say how; ``progress(stage, done, total)`` follows the work.
    """
    started = time.perf_counter()
    cfg = dataclasses.replace(config or EvalConfig(), **settings)
    chosen = metrics.select(cfg.metrics)
    cfg.white_balance = cfg.look.validate().white_balance
    if cfg.working_size is not None:
        cfg.working_size = resolve_working_size(cfg.working_size, None)
    methods, baseline = method_list(methods, cfg.baseline)
    if cfg.batch_size < 1:
        raise UsageError(f"batch size {cfg.batch_size}: give a positive number")
    pairs, listed, root = collect_pairs(data, cfg.split, cfg.category, cfg.limit, cfg.workers,
                                        check=False)
    dev = resolve_device(cfg.device)
    enhancers, methods, baseline = start_methods(methods, baseline, weights, options, dev,
                                                 cfg.skip_broken)
    pairs, failures, root = check_collected(pairs, [f.message for f in listed], root, cfg.workers)
    for f in failures:
        log.warning(f"skipped: {f.message}")
    skipped = len(failures)
    scoring = Scoring(enhancers, dev, cfg, chosen, pairs, failures, progress)
    scoring.run()
    settings_out = {
        "dataset": str(root) if root else None,
        "split": cfg.split if isinstance(data, str | Path) else None,
        "category": cfg.category, "limit": cfg.limit, "pairs": len(pairs),
        "dataset_problems": skipped,
        **_run_settings(cfg, methods, baseline, weights, enhancers, dev, chosen),
    }
    order = {p.stem: i for i, p in enumerate(pairs)}
    scores = sorted(scoring.scores, key=lambda s: (order.get(s.stem, 0), methods.index(s.method)))
    return EvalResult(
        methods=methods, scores=scores,
        summaries=summaries(methods, chosen, scores, failures, scoring.seconds),
        comparisons=[compare(scores, m, baseline, chosen) for m in methods if baseline and m != baseline],
        failures=failures, config=settings_out, versions=_versions(methods), pairs=pairs,
        thumbnails=scoring.thumbs, seconds=time.perf_counter() - started,
        metrics=[m.name for m in chosen])


def _run_settings(cfg: EvalConfig, methods: list[str], baseline: str | None,
                  weights: Mapping[str, str | Path] | None, enhancers: Mapping[str, Enhancer],
                  dev: torch.device, chosen: Sequence[metrics.Metric]) -> dict[str, Any]:
    """What ran and how, for the result's ``config`` (after the data's part)."""
    return {
        "methods": methods,
        "weights": {k: str(v) for k, v in (weights or {}).items()},
        "weights_used": {m: getattr(e, "weights_info", None) for m, e in enhancers.items()
                         if getattr(e, "weights_info", None)},
        "strength": cfg.strength, "exposure": cfg.exposure, "white_balance": cfg.white_balance,
        "options": {m: e.config for m, e in enhancers.items()},
        "working_size": {m: working_size_of(e, cfg) for m, e in enhancers.items()},
        "device": str(dev), "quantize": cfg.quantize, "baseline": baseline,
        "batch_size": cfg.batch_size, "metrics": [m.name for m in chosen],
    }


def _versions(methods: Sequence[str]) -> dict[str, str]:
    reg = plugins.registry()
    return {"flashcli": __version__, "torch": torch.__version__,
            "python": platform.python_version(),
            **{f"plugin:{m}": reg.get(selection.method_of(m)).provided_by for m in methods}}


def run_eval(
    dataset: str | Path | None,
    methods: Sequence[str] | None,
    weights: Mapping[str, str | Path] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    config: EvalConfig | None = None,
    *,
    pairs_dirs: tuple[str, str] | None = None,
    report_dir: str | Path | None = None,
    sheet_size: int = 160,
    progress: ProgressFn | None = None,
) -> tuple[EvalResult, list[Path]]:
    """``flashcli eval`` as a function: the data from a DATASET folder or two folders of
    matching stems (``pairs_dirs``), every method that runs without weights when
    ``methods`` is None, and the report written to ``report_dir`` (contact sheets of
    ``sheet_size`` px). Returns the result and the files written."""
    cfg = config or EvalConfig()
    data = data_of(dataset, pairs_dirs)
    if report_dir:
        cfg = dataclasses.replace(cfg, thumbnail_side=sheet_size)
    if not methods:  # the default set: one broken plugin must not stop the others
        cfg = dataclasses.replace(cfg, skip_broken=True)
    result = evaluate(data, methods or default_methods(), weights, options, cfg, progress=progress)
    if pairs_dirs:  # the folders really given, not their parent
        result.config["dataset"] = None
        result.config["pairs_dirs"] = [str(Path(d).expanduser()) for d in pairs_dirs]
    written: list[Path] = []
    if report_dir:
        written = write_report(result, report_dir)
    return result, written
