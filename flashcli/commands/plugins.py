"""``flashcli plugins``: the installed methods and the plugins that failed."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from flashcli import console
from flashcli.cli import common_options
from flashcli.plugins import Registry, registry


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
    for m in report["methods"]:
        table.add_row(m["name"], f"{m['distribution']} {m['version']}".strip(),
                      "yes" if m["trainable"] else "no", "yes" if m["needs_weights"] else "no",
                      m["description"])
    out = console.out()
    out.print(table)
    if report["failed"]:
        bad = Table(title="plugins that failed to load", title_style="bold red")
        for col in ("plugin", "provided by", "error"):
            bad.add_column(col)
        for f in report["failed"]:
            bad.add_row(f["plugin"], f"{f['distribution']} {f['version']}".strip(), f["error"])
        out.print(bad)
