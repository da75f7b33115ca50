"""The command line as a package: bad values that only a distributed run refuses exit with
status 2 like every other bad flag, and --help states every default once."""

import re

import pytest

import neuralsde.fit.run as fit_run
from neuralsde.fit import DEFAULTS, build_parser, main, resolve
from neuralsde.fit.settings import check_world

PROG = "python -m neuralsde.fit"

#: Flags a single process accepts and a run split across 2 processes refuses, and what the
#: error names.
DISTRIBUTED_ONLY = [
    (["--model", "ode"], "--model ode"),
    (["--method", "srk"], "--method sri"),
    (["--gradient", "adjoint"], "--gradient backprop"),
    (["--paths", "1"], "--paths 1"),
    (["--objective", "windows", "--windows", "1"], "--windows 1"),
    (["--objective", "transition"], "--objective transition"),
]


def _error_line(err: str) -> str:
    """The ``prog: error: ...`` line argparse writes to stderr."""
    lines = [line for line in err.splitlines() if line.startswith(f"{PROG}: error: ")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("argv,named", DISTRIBUTED_ONLY)
def test_check_world_refuses_with_status_2(argv, named, capsys):
    parser = build_parser()
    settings = resolve(parser.parse_args(argv))
    check_world(settings, 1, parser)  # one process: nothing to refuse
    with pytest.raises(SystemExit) as exit_info:
        check_world(settings, 2, parser)
    assert exit_info.value.code == 2
    assert named in _error_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv,named", DISTRIBUTED_ONLY)
def test_main_in_a_distributed_world_exits_2_before_writing(argv, named, capsys, monkeypatch,
                                                           tmp_path):
    monkeypatch.setattr(fit_run, "_world", lambda: (0, 2))
    with pytest.raises(SystemExit) as exit_info:
        main(argv + ["--out", str(tmp_path / "never")])
    assert exit_info.value.code == 2
    assert named in _error_line(capsys.readouterr().err)
    assert not (tmp_path / "never").exists()


def _help_entries(text: str) -> dict:
    """``--help`` output as {flag: its entry, whitespace collapsed}; an entry starts at a line
    indented by two spaces and a dash and runs over the more deeply indented lines after it."""
    entries, flag = {}, None
    for line in text.splitlines():
        if re.match(r"^  -", line):
            flag = re.findall(r"--[\w-]+", line)[0]
            entries[flag] = line
        elif flag is not None and line.startswith("   "):
            entries[flag] += " " + line
        else:
            flag = None
    return {k: " ".join(v.split()) for k, v in entries.items()}


def test_help_states_every_default_once_in_one_format(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    entries = _help_entries(text)
    actions = [a for a in build_parser()._actions if a.option_strings]
    assert set(entries) == {[s for s in a.option_strings if s.startswith("--")][0]
                            for a in actions}
    assert "==SUPPRESS==" not in text and "(default: None)" not in text
    for action in actions:
        flag = [s for s in action.option_strings if s.startswith("--")][0]
        entry = entries[flag]
        mentions = re.findall(r"default", entry, re.IGNORECASE)
        if flag == "--help":
            assert not mentions, entry
            continue
        assert len(mentions) == 1, entry
        assert re.search(r"\(default: [^()]+\)", entry), entry
        value = DEFAULTS.get(action.dest)
        if value is not None and not isinstance(value, bool):
            assert (f"(default: {value}" in entry  # --data's own default first, if any
                    or f" with --data, {value} without" in entry), entry
