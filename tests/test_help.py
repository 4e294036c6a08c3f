"""The command line explains itself: every command's first line whole in `neuro --help`, every option helped."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from neuro.cli.main import main


def all_commands() -> list[tuple[str, click.Command]]:
    """(path, command) for every command, the subcommands of groups (`show digit`, ...) included."""
    found = []

    def walk(prefix: str, group: click.Group) -> None:
        for name, command in group.commands.items():
            found.append((f"{prefix}{name}", command))
            if isinstance(command, click.Group):
                walk(f"{prefix}{name} ", command)

    walk("", main)
    return found


def test_the_overview_shows_every_commands_whole_first_line():
    text = " ".join(CliRunner().invoke(main, ["--help"], terminal_width=60).output.split())
    for name, command in main.commands.items():
        first_line = " ".join(command.get_short_help_str(limit=1000).split())
        assert first_line in text, f"`neuro --help` cuts the first line of `neuro {name}`"
        assert not first_line.endswith("..."), f"`neuro {name}`'s first line is cut"


@pytest.mark.parametrize(("path", "command"), all_commands(), ids=[path for path, _ in all_commands()])
def test_every_option_says_what_it_does(path, command):
    unhelped = [param.opts[0] for param in command.params
                if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()]
    assert not unhelped, f"`neuro {path}` has options without help: {', '.join(unhelped)}"


@pytest.mark.parametrize(("path", "command"), all_commands(), ids=[path for path, _ in all_commands()])
def test_layer_sizes_are_named_alike_everywhere(path, command):
    for param in command.params:
        if isinstance(param, click.Option) and "--layers" in param.opts:
            assert param.metavar == "SIZES", f"`neuro {path} --layers` shows {param.metavar or param.type.name}"
