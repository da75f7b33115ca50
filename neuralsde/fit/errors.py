"""How the CLI refuses and fails: one ``python -m neuralsde.fit: error: ...`` line on stderr,
and an exit status (2 for a refusal, 1 for a write that failed, 128 + n for signal n).

A malformed command line goes through argparse's ``parser.error``, which adds the usage; every
other refusal (the data, the run folder, the machine) is :func:`fail`, one line.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: The program's name in messages.
PROG = "python -m neuralsde.fit"


def say_error(message: str) -> None:
    """Print ``python -m neuralsde.fit: error: <message>`` on stderr."""
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def fail(message: str, status: int = 2):
    """:func:`say_error` and exit with ``status``: a refusal that is not about the command line's
    form, so without argparse's usage block."""
    say_error(message)
    raise SystemExit(status)


class PlainErrors:
    """A stand-in for the parser where a check reports with ``parser.error``: :meth:`error` is
    :func:`fail`, one line without the usage (for checks of flags against the data)."""

    def error(self, message: str):
        """Report ``message`` and exit with status 2."""
        fail(message)


#: load_csv's argument names, as the flags that set them.
_FLAGS = {"time_column": "--time-column", "group_column": "--group-column",
          "columns": "--columns"}


def data_message(message: str, path: str) -> str:
    """A :func:`~neuralsde.data.load_csv` error message in the CLI's words, for a line that
    already names the file: without the leading path, with flags for argument names
    (``time_column='t'`` becomes ``--time-column 't'``, ``columns contains 'x'`` becomes
    ``--columns names 'x'``), and with a hint when the file is not comma-separated.

    Args:
        message: the ValueError's text; it starts with the path.
        path: the file, as given to ``load_csv``.
    """
    message = message.removeprefix(f"{path}: ")

    def as_list(match):  # columns=['a', 'b'] -> --columns 'a,b'
        return "--columns " + repr(",".join(re.findall(r"'([^']*)'", match.group(1))))

    message = re.sub(r"\bcolumns=\[([^\]]*)\]", as_list, message)
    message = re.sub(r"\bcolumns contains\b", "--columns names", message)
    message = re.sub(r"\bcolumns=(?=[.,;]|$)", "--columns", message)
    message = re.sub(r"\b(time_column|group_column|columns)=", lambda m: _FLAGS[m.group(1)] + " ",
                     message)
    return message + _separator_hint(Path(path))


def _separator_hint(path: Path) -> str:
    """A hint when the file's header has no comma but semicolons or tabs (neuralsde reads
    comma-separated files only); empty otherwise."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            header = next((line for line in handle if line.strip()), "")
    except OSError:
        return ""
    if "," in header:
        return ""
    for sep, name in ((";", "';'"), ("\t", "tab")):
        if sep in header:
            return (f" Hint: the header has {name} separators; neuralsde reads comma-separated "
                    "files, so replace them by commas.")
    return ""
