"""``flashcli plugins``: the installed methods and the plugins that failed."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from flashcli import console
from flashcli.cli import common_options
from flashcli.jsonsafe import read_untrusted
from flashcli.plugins import Registry, registry


def default_weights_info(cls: Any) -> dict[str, Any] | None:
    """Where a method's shipped weights are and what they were trained on (their sidecar)."""
    try:
        path = cls.default_weights() if hasattr(cls, "default_weights") else None
    except Exception:
        return None
    if path is None:
        return None
    info: dict[str, Any] = {"path": str(path), "trained_on": "see the weights' sidecar"}
    try:
        meta = read_untrusted(path.with_suffix(".json"))
        info["trained_on"] = str(meta.get("provenance", {}).get("data", info["trained_on"]))
    except (OSError, ValueError, AttributeError):
        pass
    return info


def plugins_report(reg: Registry | None = None) -> dict[str, Any]:
    """The installed methods and failed plugins as plain data."""
    reg = reg or registry()
    methods = []
    for name in sorted(reg.methods):
        m = reg.methods[name]
        cls = m.cls
        methods.append({
            "name": name,
            "plugin": m.plugin.name,
            "distribution": m.plugin.dist,
            "version": m.plugin.version,
            "trainable": bool(getattr(cls, "trainable", False)),
            "needs_weights": bool(getattr(cls, "needs_weights", False)),
            "description": getattr(cls, "description", ""),
            "default_weights": default_weights_info(cls),
            "options": {o.name: o.default for o in getattr(cls, "options", ())},
        })
    failed = [{"plugin": p.name, "module": p.module, "distribution": p.dist, "version": p.version,
               "error": p.error} for p in reg.failures]
    return {"methods": methods, "failed": failed}


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@common_options
def command(as_json: bool) -> None:
    """List the enhancement methods the installed plugins provide."""
    report = plugins_report()
    if as_json:
        console.print_json(report)
        return
    table = Table(title="flashcli methods")
    for col in ("method", "provided by", "trainable", "needs weights", "description"):
        table.add_column(col)
    notes = []
    for m in report["methods"]:
        weights = "yes" if m["needs_weights"] else "no"
        if m["default_weights"]:
            weights = "bundled"
            notes.append(f"{m['name']}: bundled weights trained on {m['default_weights']['trained_on']}; "
                         f"train on your own data with `flashcli train --method {m['name']}`")
        table.add_row(m["name"], f"{m['distribution']} {m['version']}".strip(),
                      "yes" if m["trainable"] else "no", weights, m["description"])
    out = console.out()
    out.print(table)
    for note in notes:
        out.print(note, soft_wrap=True)
    if report["failed"]:
        bad = Table(title="plugins that failed to load", title_style="bold red")
        for col in ("plugin", "provided by", "error"):
            bad.add_column(col)
        for f in report["failed"]:
            bad.add_row(f["plugin"], f"{f['distribution']} {f['version']}".strip(), f["error"])
        out.print(bad)
