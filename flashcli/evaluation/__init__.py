"""Score methods against ambient ground truth: the Python side of ``flashcli eval``.

``run_eval(dataset, methods)`` is the whole command as a function; ``evaluate(data,
methods)`` the scoring alone, on a folder, a ``PairSet`` or a list of ``Pair``. The job has
relight's shape, one module per step:

1. :mod:`~flashcli.evaluation.pairs` (discover): the pairs of a dataset folder or of two
   folders of matching stems, their headers read; unusable ones become failures;
2. :mod:`~flashcli.evaluation.plan`: the settings (:class:`EvalConfig`), the methods and the
   baseline, every method built before any image is read;
3. :mod:`~flashcli.evaluation.score` (run): decode, run each method in batches, score,
   summarise and pair with the baseline; :mod:`~flashcli.evaluation.run` puts the steps in
   order (:func:`evaluate`, :func:`run_eval`);
4. :mod:`~flashcli.evaluation.report`: the result types (:class:`EvalResult`) and the report
   files (results.json/.csv, table.md, contact sheets).

Importing this package, or its report module, does not import torch; the other steps are
imported on first use.
"""

from typing import TYPE_CHECKING

from flashcli.evaluation.report import (
    AMBIENT,
    FLASH,
    Comparison,
    EvalResult,
    Failure,
    ImageScore,
    MethodSummary,
    contact_sheets,
    ordered_methods,
    results_csv,
    rows,
    table_markdown,
    write_report,
)
from flashcli.runtime.lazy import lazy_exports

if TYPE_CHECKING:
    from flashcli.evaluation.pairs import collect_pairs
    from flashcli.evaluation.plan import EvalConfig, build_enhancers
    from flashcli.evaluation.run import evaluate, run_eval
    from flashcli.evaluation.score import compare

# The other steps import torch: imported on first read.
__getattr__ = lazy_exports(__name__, {
    "EvalConfig": "flashcli.evaluation.plan", "build_enhancers": "flashcli.evaluation.plan",
    "collect_pairs": "flashcli.evaluation.pairs", "compare": "flashcli.evaluation.score",
    "evaluate": "flashcli.evaluation.run", "run_eval": "flashcli.evaluation.run",
})

__all__ = [
    "AMBIENT", "FLASH", "Comparison", "EvalConfig", "EvalResult", "Failure", "ImageScore",
    "MethodSummary", "build_enhancers", "collect_pairs", "compare", "contact_sheets",
    "evaluate", "ordered_methods", "results_csv", "rows", "run_eval", "table_markdown",
    "write_report",
]
