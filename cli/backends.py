"""`neuro backends`: every backend, whether it runs here, and why not."""

from __future__ import annotations

import click

from neuro.backends import REGISTRY, default_backend_name, list_backends
from neuro.support.errors import NeuroError

from .common import emit_json, json_option


@click.command()
@json_option
def backends(as_json: bool) -> None:
    """List every backend, whether it is available here, and why not."""
    statuses = list_backends()
    default = default_backend_name()
    if as_json:
        emit_json({
            "default": default,
            "backends": [{"name": s.name, "available": s.available, "reason": s.reason} for s in statuses],
        })
        _check_default(default)
        return
    width = max(len(s.name) for s in statuses)
    for s in statuses:
        mark = "yes" if s.available else "no "
        default_mark = " (default)" if s.name == default else ""
        remark = f" [{s.reason}]" if s.reason else ""
        click.echo(f"{s.name:<{width}}  {mark}  {s.change}{default_mark}{remark}")
    _check_default(default)


def _check_default(default: str) -> None:
    """After the list: a NeuroError if $NEURO_BACKEND names no backend (every other command would refuse it)."""
    if default not in REGISTRY:
        raise NeuroError(f"$NEURO_BACKEND is {default!r}, which is no backend; the known backends are: "
                         f"{', '.join(REGISTRY)}")
