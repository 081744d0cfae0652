"""`flashcli plugins`: the table fits 80 columns and keeps every word of each description."""

from __future__ import annotations

from tests.clitools import run as _run


def test_plugins_table_fits_80_columns_and_keeps_every_description_word():
    from flashcli.plugins import registry

    result = _run("plugins")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    table = [line for line in lines if line.startswith(("│", "┃", "┏", "└"))]
    assert table and max(map(len, table)) <= 80
    assert "…" not in result.stdout
    cells = " ".join(line.split("│")[5].strip() for line in table if line.count("│") == 6)
    for info in registry().methods.values():
        assert "".join(info.cls.description.split()) in "".join(cells.split())  # folded, not cut
