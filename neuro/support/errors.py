"""The one exception type that the CLI shows to the user as a single line.

Anything the user can get wrong (a malformed file, an unknown backend, a bad option) is raised as a
`NeuroError` with a message that says what is wrong and, where it helps, what to do. The CLI turns it
into `Error: <message>` and a non-zero exit; a library user catches it like any other exception.
"""


class NeuroError(Exception):
    """A problem with the user's input or environment, worded for the user."""
