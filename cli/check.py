"""`neuro check RUNG`: a rung (registered, or your own file) checked against the oracle, then timed; one line per
check and a verdict."""

from __future__ import annotations

import click

from neuro.backends import get_backend, rung_info
from neuro.measure.check import check, checked_dtypes
from neuro.network import DTYPES

from .common import emit_json, finite, info, json_option


@click.command(name="check")
@click.argument("rung", metavar="RUNG")
@click.option("--examples", type=click.IntRange(min=1), default=None, metavar="N",
              help="Hypothesis examples per dtype and way (default: as many as the project's own tests draw).")
@click.option("--seconds", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              callback=finite, help="Seconds to time the rung, and each rung it is compared with, in the speed check.")
@click.option("--dtype", type=click.Choice(DTYPES), default=None,
              help="Check only this dtype (default: every dtype the rung claims), e.g. to iterate faster.")
@click.option("--speed/--no-speed", default=True, show_default=True,
              help="Time the rung against the rung it builds on (the last check).")
@json_option
def check_command(rung, examples, seconds, dtype, speed, as_json):
    """Check a rung: agreement with the oracle, the property tests, then its speed against the rung it builds on.

    RUNG is a registered name (`neuro backends`) or a rung of your own: path/to/my_rung.py or module:NAME, which
    defines unavailable_reason(), create(), BUILDS_ON and CHANGE (see backends/base.py). One line per check, PASS
    or FAIL, with the quantity, layer and index of a disagreement; exits with status 0 only when every check
    passes.

    \b
    Examples:
      neuro check exercises/02_reorder_sums.py
      neuro check numba-reorder --examples 5 --seconds 0.5
    """
    backend = get_backend(rung)  # (a file's errors, one line, before any work)
    checked_dtypes(rung, dtype)  # (a dtype it does not claim, too)
    about = rung_info(rung)
    info(f"Checking {rung} ({backend.name}): {about.change}; builds on {about.builds_on}.", quiet=as_json)
    verdicts = check(rung, examples=examples, seconds=seconds, speed=speed, dtype=dtype,
                     on_verdict=None if as_json else lambda verdict: click.echo(verdict.line))
    ok = all(v.ok for v in verdicts)
    if as_json:
        emit_json({"rung": rung, "builds_on": about.builds_on, "ok": ok, "checks": [v.as_dict() for v in verdicts]})
    else:
        failed = [v.check for v in verdicts if not v.ok]
        click.echo(f"{rung}: every check passes." if ok else f"{rung}: {len(failed)} of {len(verdicts)} checks "
                   f"fail ({', '.join(failed)}).")
    if not ok:
        raise SystemExit(1)
