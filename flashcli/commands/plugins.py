"""``flashcli plugins``: the installed methods and the plugins that failed."""

from __future__ import annotations

import click
from rich.table import Table

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.methods import plugins_report


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@common_options
def command(as_json: bool) -> None:
    """List the enhancement methods the installed plugins provide."""
    report = plugins_report()
    if as_json:
        console.print_json(report)
        return
    if console.settings().quiet:  # -q: only the plugins that failed, one warning each
        for f in report["failed"]:
            console.warn(f"plugin {f['plugin']} ({f['distribution']} {f['version']}) failed: "
                         f"{f['error']}")
        return
    table = Table(title="flashcli methods")
    table.add_column("method", no_wrap=True)
    table.add_column("provided by")
    table.add_column("trainable")
    table.add_column("weights")  # no / yes (needed) / bundled
    table.add_column("description", overflow="fold", ratio=1)
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
