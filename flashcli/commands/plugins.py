"""``flashcli plugins [METHOD]``: the installed methods and the plugins that failed, or one
method's options with their help and ranges."""

from __future__ import annotations

import click
from rich.table import Table

from flashcli.commands import _console as console
from flashcli.commands._options import common_options
from flashcli.methods import plugins_report


@click.command("plugins")
@click.argument("method", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@common_options
def command(method: str | None, as_json: bool) -> None:
    """List the enhancement methods the installed plugins provide; with METHOD, show that
    method's options (set with --opt NAME=VALUE), their defaults, ranges and help."""
    report = plugins_report(method=method)
    if as_json:
        console.print_json(report)
        return
    if method is not None:
        if not console.settings().quiet:
            _print_options(report["methods"][0])
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


def _default_text(value: object) -> str:
    if value is None:
        return "auto"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _print_options(m: dict) -> None:
    """One method: its description, then a table of its options."""
    out = console.out()
    out.print(f"[bold]{m['name']}[/bold] ({m['distribution']} {m['version']}): {m['description']}".strip(),
              soft_wrap=True, highlight=False)
    if not m["option_details"]:
        out.print("no options")
        return
    table = Table(title=f"{m['name']} options (--opt NAME=VALUE)")
    table.add_column("option", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("default", no_wrap=True)
    table.add_column("allowed", overflow="fold")
    table.add_column("help", overflow="fold", ratio=1)
    for o in m["option_details"]:
        table.add_row(o["name"], o["type"], _default_text(o["default"]), o["range"] or "any",
                      o["help"])
    out.print(table)
