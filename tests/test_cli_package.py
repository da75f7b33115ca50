"""The command line as a package: bad values that only a distributed run refuses exit with
status 2 like every other bad flag."""

import pytest

import neuralsde.fit.run as fit_run
from neuralsde.fit import build_parser, main, resolve
from neuralsde.fit.settings import check_world

PROG = "python -m neuralsde.fit"

#: Flags a single process accepts and a run split across 2 processes refuses, and what the
#: error names.
DISTRIBUTED_ONLY = [
    (["--model", "ode"], "--model ode"),
    (["--method", "srk"], "--method sri"),
    (["--gradient", "adjoint"], "--gradient backprop"),
    (["--paths", "1"], "--paths 1"),
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
