"""Run the tutorial's steps (scripts/tutorial_steps.py) as a learner would after a fresh install: in a scratch
folder, with an empty data cache (a fresh NEURO_DATA_DIR) and plain characters instead of colour (NO_COLOR).
What each command printed is turned into what a terminal shows (`as_shown`), trimmed by its step, and the values
the prose points at are picked from it."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from docs_blocks import files
from tutorial_steps import DERIVED, NEURO, STEPS, VALUES, Step
from tutorial_trims import StepFailed

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def neuro_command() -> list[str]:
    """`neuro` as installed beside this Python, else the same CLI through this Python."""
    installed = Path(sys.executable).parent / "neuro"
    return [str(installed)] if installed.exists() else [sys.executable, "-c", "from neuro.cli.main import main; main()"]


def as_shown(raw: str, scratch: Path, data: Path) -> str:
    """Output as a terminal leaves it: a line rewritten with `\\r` shows its last version, no colour codes, the
    scratch folder's paths as a learner's."""
    lines = [ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip() for line in raw.rstrip("\n").split("\n")]
    text = "\n".join(lines)
    return text.replace(str(data), "~/.cache/neuro").replace(str(scratch) + os.sep, "")


def run_command(command: str, scratch: Path, env: dict) -> str:
    argv = shlex.split(command)
    argv = neuro_command() + argv[1:] if argv[0] == NEURO else [sys.executable] + argv[1:] if argv[0] == "python" \
        else argv
    # Bytes, not text mode: text mode would turn every `\r` into a line break.
    result = subprocess.run(argv, cwd=scratch, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = result.stdout.decode("utf-8", errors="replace")
    if result.returncode != 0:
        raise StepFailed(f"`{command}` exited with status {result.returncode}:\n{output}")
    return as_shown(output, scratch, Path(env["NEURO_DATA_DIR"]))


def pick(name: str, output: str) -> str:
    step, pattern = VALUES[name]
    match = re.search(pattern, output, re.M)
    if match is None:
        raise StepFailed(f"value {name}: nothing in the output of step {step!r} matches {pattern!r}; the output "
                         f"was:\n{output}")
    return match.group(1)


def console_text(command_outputs: list[tuple[str, str]]) -> str:
    """A step's output as the docs show it: each command after `$ `, then what it printed (trimmed)."""
    return "\n".join(f"$ {command}" + (f"\n{output}" if output else "") for command, output in command_outputs)


def console_block(text: str) -> str:
    return f"```console\n{text}\n```"


def values_of(step: Step, block: str) -> dict[str, str]:
    """The values that VALUES and DERIVED take from `step`'s output as the docs show it."""
    found = {name: pick(name, block) for name, (source, _) in VALUES.items() if source == step.name}
    if step.name in DERIVED:
        found.update(DERIVED[step.name][0](block))
    return found


def run_steps(text: str, scratch: Path, skip_machine: bool) -> tuple[dict[str, str], dict[str, str]]:
    """Run every step in `scratch`; the console block of each step that ran, and every value."""
    for name, code in files(text).items():
        (scratch / name).write_text(code)
    env = {**os.environ, "NEURO_DATA_DIR": str(scratch / "data"), "NO_COLOR": "1"}
    env.pop("NEURO_BACKEND", None)
    outputs, values = {}, {}
    for step in STEPS:
        if step.machine and skip_machine:
            continue
        shown = []
        for index, template in enumerate(step.commands):
            command = template.format(**values)
            print(f"$ {command}", flush=True)
            try:
                shown.append((command, step.trim(index)(run_command(command, scratch, env))))
            except StepFailed as failure:
                raise StepFailed(f"step {step.name!r}, `{command}`: {failure}") from None
        output = console_text(shown)
        outputs[step.name] = console_block(output)
        values.update(values_of(step, output))
        for picture in step.pictures:
            if not (scratch / picture).is_file():
                raise StepFailed(f"step {step.name!r} did not write {picture}")
    return outputs, values
