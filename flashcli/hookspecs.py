"""The hooks a flashcli plugin can implement. One documented function per hook.

A plugin is any module listed in the ``flashcli`` entry-point group of an installed
distribution; it implements hooks by decorating functions with ``flashcli.hookimpl``::

    # pyproject.toml
    [project.entry-points.flashcli]
    gamma = "flashcli_gamma"

    # flashcli_gamma/__init__.py
    import flashcli

    @flashcli.hookimpl
    def flashcli_register_enhancers(register):
        register(Gamma)
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("flashcli")
hookimpl = pluggy.HookimplMarker("flashcli")


@hookspec
def flashcli_register_enhancers(register):
    """Register enhancement methods.

    Call ``register(enhancer_class)`` once per method, with a subclass of
    ``flashcli.enhancer.Enhancer`` (or a factory callable carrying the same class
    attributes: ``name``, ``description``, ``options``...). Method names must be unique
    across all installed plugins.
    """


@hookspec
def flashcli_register_commands(cli):
    """Add subcommands to the ``flashcli`` click group: ``cli.add_command(my_command)``."""
