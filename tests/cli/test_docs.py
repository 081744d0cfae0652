"""The docs: no file cites the missing reference file, method.md keeps its sections, the
performance page has no stale rows."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tracked_text_files() -> list[Path]:
    skip = {".png", ".jpg", ".dng", ".safetensors", ".pt"}
    return [p for p in ROOT.rglob("*") if p.is_file() and p.suffix.lower() not in skip
            and not any(part.startswith(".") or part in ("__pycache__", "runs") for part in
                        p.relative_to(ROOT).parts)]


def test_no_file_cites_the_missing_reference_file():
    missing = "REFERENCE" + ".md"
    citing = [str(p.relative_to(ROOT)) for p in _tracked_text_files()
              if missing in p.read_text(errors="replace")]
    assert citing == []
    method = (ROOT / "docs" / "method.md").read_text()
    for heading in ("## The guided conditional GAN", "## Data: FAID", "## Metrics",
                    "## Baselines", "## Camera facts"):
        assert heading in method


def test_performance_page_has_no_stale_rows():
    page = (ROOT / "docs" / "performance.md").read_text()
    assert "not installed yet" not in page
