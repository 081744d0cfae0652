"""The main job: relight a whole shoot at full resolution.

``relight(inputs, output_dir)`` finds the photos, keeps the frames whose EXIF says the
flash fired, runs the method and writes full-resolution results with their metadata, in
three steps, one module each:

1. :mod:`~flashcli.relight.discover`: files, folders (``recursive``) and globs; other files
   are passed over;
2. :mod:`~flashcli.relight.plan`: the output of each photo and its fate (process, skip: no
   flash / unknown flash / exists, fail), from EXIF alone (no pixels decoded);
3. :mod:`~flashcli.relight.run`: decode, run the method, carry its gain to full resolution,
   encode; :mod:`~flashcli.relight.report` holds what happened to each file.
"""

from typing import TYPE_CHECKING

from flashcli.relight.discover import Source, discover
from flashcli.relight.plan import (
    DEFAULT_TEMPLATE,
    FORMATS,
    TEMPLATE_FIELDS,
    Job,
    check_template,
    flash_fate,
    output_format,
    output_path,
    plan,
)
from flashcli.relight.report import (
    FAILED,
    PROCESSED,
    SKIP_EXISTS,
    SKIP_NO_FLASH,
    SKIP_OURS,
    SKIP_UNKNOWN,
    STATUSES,
    WOULD_PROCESS,
    FileResult,
    RelightReport,
)
from flashcli.runtime.lazy import lazy_exports

if TYPE_CHECKING:
    from flashcli.relight.run import (
        BATCH_MEGAPIXELS,
        DEFAULT_TILE,
        IN_FLIGHT_MEGAPIXELS,
        RelightConfig,
        relight,
        resolve_working_size,
    )

# The names of run, imported on first read: the commands that only plan or describe
# (``--help``, ``info``) need none of it (and it imports torch lazily itself).
__getattr__ = lazy_exports(__name__, dict.fromkeys(
    ["BATCH_MEGAPIXELS", "DEFAULT_TILE", "IN_FLIGHT_MEGAPIXELS", "RelightConfig", "relight",
     "resolve_working_size"], "flashcli.relight.run"))

__all__ = [
    "BATCH_MEGAPIXELS", "DEFAULT_TEMPLATE", "DEFAULT_TILE", "FAILED", "FORMATS",
    "IN_FLIGHT_MEGAPIXELS", "PROCESSED", "SKIP_EXISTS", "SKIP_NO_FLASH", "SKIP_OURS", "SKIP_UNKNOWN",
    "STATUSES", "TEMPLATE_FIELDS", "WOULD_PROCESS", "FileResult", "Job", "RelightConfig",
    "RelightReport", "Source", "check_template", "discover", "flash_fate", "output_format",
    "output_path", "plan", "relight", "resolve_working_size",
]
