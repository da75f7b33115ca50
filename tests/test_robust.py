"""Robustness: what bad inputs, signals and failing disks do to a solve, a fit and the CLI.

Each test fails on the code before the fix it names: a wrong state width reaching torch's
matrix product, a huge initial state hanging the Brownian path, and so on.
"""

import contextlib
import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import neuralsde as ns
from neuralsde.solvers import NonFiniteStateError, SolveConfig, SolverError

# ----------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _within(seconds):
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _reference(dtype=torch.float64):
    torch.manual_seed(0)
    return ns.build_model({"kind": "reference", "state_dim": 3}).to(dtype)


class _Plain(nn.Module):
    """A torchsde-style model that declares no width: only its first call can tell."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 3)

    def f(self, t, y):
        return self.linear(y)

    def g(self, t, y):
        return torch.sigmoid(self.linear(y))


# ----------------------------------------------------------------------------- solve: y0


def test_solve_names_both_shapes_when_y0_is_wider_than_the_model():
    with pytest.raises(ValueError) as info:
        ns.solve(_reference(), torch.zeros(4, 5), [0.0, 1.0], seed=0)
    message = str(info.value)
    assert "(4, 5)" in message and "5-dimensional" in message and "3-dimensional" in message
    assert "mat1" not in message


def test_solve_checks_a_hand_built_model_by_its_first_linear_layer():
    drift = nn.Sequential(ns.nets.CubicFeatures(), nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 3))
    model = ns.NeuralDSDE(drift, nn.Linear(3, 3))
    with pytest.raises(ValueError, match=r"in_features=3"):
        ns.solve(model, torch.zeros(2, 2), [0.0, 1.0], seed=0)
    seasonal = ns.NeuralDSDE(nn.Linear(5, 3), nn.Linear(5, 3), period=1.0)  # 3 + sin, cos
    assert ns.solve(seasonal, torch.zeros(2, 3), [0.0, 1.0], seed=0).shape == (2, 2, 3)


def test_solve_names_the_dtypes_when_y0_and_the_model_differ():
    with pytest.raises(ValueError, match=r"y0 has dtype torch.float32 .* torch.float64"):
        ns.solve(_reference(torch.float64), torch.zeros(2, 3, dtype=torch.float32), [0.0, 1.0])


@pytest.mark.parametrize("config", [SolveConfig(), SolveConfig(adaptive=False, dt=0.5),
                                    SolveConfig(method="srk")],
                         ids=["sri-adaptive", "sri-fixed", "torchsde-srk"])
def test_first_call_error_of_an_undeclared_model_names_y0(config):
    with pytest.raises(ValueError, match=r"y0 of shape \(2, 5\)"):
        ns.solve(_Plain(), torch.zeros(2, 5), [0.0, 1.0], config, seed=0)


@pytest.mark.parametrize("magnitude, dtype", [(1e13, torch.float32), (1e13, torch.float64),
                                              (1e300, torch.float64)])
@pytest.mark.parametrize("method", ["sri", "srk"])
def test_huge_initial_state_returns_or_raises_within_seconds(magnitude, dtype, method):
    y0 = torch.full((2, 3), magnitude, dtype=dtype)
    with _within(20):
        try:
            ys = ns.solve(_reference(dtype), y0, [0.0, 1.0], SolveConfig(method=method), seed=0)
        except NonFiniteStateError as err:
            assert "not finite" in str(err) or "non-finite" in str(err)
        else:
            assert ys.shape == (2, 2, 3)


@pytest.mark.parametrize("t0, span", [(1e16, 10.0), (1e17, 100.0)])
def test_times_too_large_for_the_smallest_step_still_advance(t0, span):
    with _within(20):
        ys = ns.solve(_reference(), torch.ones(2, 3), [t0, t0 + span], seed=0)
    assert ys.shape == (2, 2, 3)


def test_spans_beyond_the_brownian_path_and_endless_fixed_grids_are_refused():
    with _within(20):
        with pytest.raises(ValueError, match="spans 1e\\+300"):
            ns.solve(_reference(), torch.ones(2, 3), [0.0, 1e300], seed=0)
        with pytest.raises(ValueError, match="more than max_steps"):
            ns.solve(_reference(), torch.ones(2, 3), [0.0, 1e6],
                     SolveConfig(adaptive=False, dt=1e-3), seed=0)


def test_a_nan_error_estimate_in_torchsde_is_our_solver_error():
    y0 = torch.full((2, 3), 1e300)
    with _within(20), pytest.raises(SolverError):
        ns.solve(_reference(), y0, [0.0, 1.0], SolveConfig(method="milstein"), seed=0)


# ----------------------------------------------------------------------------- train.fit


def _series():
    from neuralsde.data import Scaling, reference_dataset

    series = reference_dataset(0)
    return Scaling.fit(series).transform(series)


FAST = SolveConfig(adaptive=False, dt=0.5)


def test_fit_names_the_argument_of_the_wrong_type():
    from neuralsde.train import fit

    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module.*got NoneType"):
        fit(None)
    with pytest.raises(TypeError, match=r"series must be a neuralsde.data.TimeSeries.*got Tensor"):
        fit(_reference(), torch.zeros(7, 1))
    with pytest.raises(TypeError, match=r"the model comes first"):
        fit(_series())


def test_fit_with_no_iterations_refuses_instead_of_a_nan_loss():
    from neuralsde.train import TrainConfig, fit

    with pytest.raises(ValueError, match="trains nothing"):
        fit(_reference(), _series(), solve_config=FAST,
            train_config=TrainConfig(iters=0, curriculum=False), quiet=True)


def test_fit_creates_missing_folders_and_names_a_path_it_cannot_write(tmp_path):
    from neuralsde._checks import WriteError
    from neuralsde.train import TrainConfig, fit

    cfg = TrainConfig(iters=2, curriculum=False, paths=2)
    history, checkpoint = tmp_path / "a" / "b" / "history.csv", tmp_path / "c" / "ck.pt"
    fit(_reference(), _series(), solve_config=FAST, train_config=cfg, history_path=history,
        checkpoint_path=checkpoint, quiet=True)
    assert history.is_file() and checkpoint.is_file()
    (tmp_path / "taken").mkdir()
    with pytest.raises(WriteError, match=f"cannot write {tmp_path / 'taken'}"):
        fit(_reference(), _series(), solve_config=FAST, train_config=cfg,
            history_path=tmp_path / "taken", quiet=True)


def test_progress_shows_each_curriculum_stage(monkeypatch, capsys):
    from neuralsde.train import TrainConfig, fit

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    cfg = TrainConfig(iters=2, stage_iters=1, first=6, paths=2)
    fit(_reference(), _series(), solve_config=FAST, train_config=cfg)
    err = capsys.readouterr().err
    for text in ("stage 1/3: all 7 points", "stage 2/3: first 6 points",
                 "stage 3/3: first 7 points"):
        assert text in err
    fit(_reference(), _series(), solve_config=FAST,
        train_config=TrainConfig(iters=3, curriculum=False, paths=2))
    err = capsys.readouterr().err
    assert "3/3" in err and "stage" not in err  # one stage: one plain bar


# ----------------------------------------------------------------------------- CLI: --out

TINY = ["--iters", "3", "--stage-iters", "1", "--paths", "2", "--samples", "3", "--dt", "0.5",
        "--quiet", "--objective", "start"]


def _one_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m neuralsde.fit: "), err
    assert "Traceback" not in err and "usage:" not in err
    return lines[0]


def _refused(argv, capsys):
    from neuralsde.fit import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return _one_line(capsys.readouterr().err)


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_out_folder_with_the_users_files_is_refused_untouched(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "fit.png").write_bytes(b"my own figure")
    line = _refused(TINY + ["--out", str(folder)], capsys)
    assert str(folder) in line and "not a neuralsde run" in line and "fit.png" in line
    assert _snapshot(folder) == {Path("fit.png"): b"my own figure"}


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("mine")
    line = _refused(TINY + ["--out", str(path)], capsys)
    assert str(path) in line and "is a file" in line and path.read_text() == "mine"
    line = _refused(TINY + ["--out", str(path / "run")], capsys)  # a file in the way
    assert f"cannot write {path / 'run'}" in line


def test_an_empty_existing_folder_is_a_new_folder(tmp_path):
    from neuralsde.fit import main

    folder = tmp_path / "empty"
    folder.mkdir()
    assert main(TINY + ["--out", str(folder)]) == 0
    assert (folder / "metrics.json").is_file()


def test_read_only_out_folder_really(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user (root) may write into a read-only folder")
        line = _refused(TINY + ["--out", str(folder / "run")], capsys)
        assert f"cannot write {folder / 'run'}" in line
    finally:
        folder.chmod(0o755)


@pytest.fixture
def read_only(monkeypatch):
    """Make folders read-only as far as Python's writes go (open for writing, mkdir, rename
    fail with EACCES), for users such as root whom chmod does not stop."""
    import builtins
    import io

    folders = []
    real_open, real_replace, real_mkdir = builtins.open, os.replace, os.mkdir

    def inside(path):
        try:
            path = Path(os.fsdecode(path)).resolve()
        except TypeError:  # a file descriptor
            return False
        return any(path == f or f in path.parents for f in folders)

    def denied(path):
        return PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and inside(file):
            raise denied(file)
        return real_open(file, mode, *args, **kwargs)

    def guarded_replace(src, dst, *args, **kwargs):
        if inside(dst):
            raise denied(dst)
        return real_replace(src, dst, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if inside(path):
            raise denied(path)
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "replace", guarded_replace)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)
    return lambda folder: folders.append(Path(folder).resolve())


def test_read_only_out_folder_is_one_line_and_exit_2(tmp_path, capsys, read_only):
    folder = tmp_path / "ro"
    folder.mkdir()
    read_only(folder)
    line = _refused(TINY + ["--out", str(folder)], capsys)
    assert f"cannot write {folder / 'run.json'}: Permission denied" in line
    line = _refused(TINY + ["--out", str(folder / "sub")], capsys)
    assert f"cannot write {folder / 'sub'}: Permission denied" in line
    assert list(folder.iterdir()) == []


def test_disk_full_during_training_is_one_line_exit_1_and_keeps_what_was_written(
        tmp_path, capsys, monkeypatch):
    from neuralsde.fit import main
    from neuralsde.train import load_checkpoint

    real_save, calls = torch.save, []

    def save(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the third checkpoint: the disk is full
            f.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    folder = tmp_path / "run"
    status = main(TINY + ["--checkpoint-every", "1", "--out", str(folder)])
    line = _one_line(capsys.readouterr().err)
    assert status == 1
    assert line == (f"python -m neuralsde.fit: error: cannot write {folder / 'checkpoint.pt'}: "
                    "No space left on device")
    assert load_checkpoint(folder / "checkpoint.pt")["iteration"] == 2  # the second one, whole
    assert (folder / "history.csv").read_text().count("\n") == 1 + 3
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "history.csv",
                                                        "run.json"]


def test_resume_in_a_read_only_run_folder_is_one_line_exit_1(tmp_path, capsys, read_only):
    from neuralsde.fit import main

    folder = tmp_path / "run"
    assert main(TINY + ["--out", str(folder)]) == 0
    before = _snapshot(folder)
    read_only(folder)
    assert main(["--resume", str(folder), "--quiet"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert f"cannot write {folder / 'history.csv'}: Permission denied" in line
    assert _snapshot(folder) == before


# ----------------------------------------------------------------------------- CLI: signals

ARTIFACTS = ("fit.png", "loss.png", "history.csv", "metrics.json", "model.pt", "samples.npz",
             "checkpoint.pt", "run.json")


def _start_long_run(folder):
    process = subprocess.Popen([sys.executable, "-m", "neuralsde.fit", "--iters", "2000",
                                "--no-curriculum", "--out", str(folder)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    history = folder / "history.csv"
    while not (history.exists() and history.read_text().count("\n") >= 4):  # header + 3 rows
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return process


@pytest.mark.slow
def test_sigterm_finishes_the_iteration_and_writes_everything(tmp_path):
    folder = tmp_path / "run"
    process = _start_long_run(folder)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 143, err
    assert "Traceback" not in err
    for name in ARTIFACTS:
        assert (folder / name).exists(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert "SIGTERM" in metrics["stopped"] and metrics["iterations"] < 2000
    assert "SIGTERM" in out  # the line that says why


@pytest.mark.slow
@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_aborts_in_one_line(tmp_path, second):
    # The second signal must land while the first one's artifacts are written (about a second).
    # On a loaded machine this test can be descheduled that long and the run then ends cleanly
    # on the first signal (143, nothing on stderr): that attempt proves nothing and is retried.
    for attempt in range(3):
        process = _start_long_run(tmp_path / f"run{attempt}")
        process.send_signal(signal.SIGTERM)
        # wait until the first signal was handled: two SIGTERMs that arrive while the process
        # is busy in C code are delivered as one
        for line in process.stdout:
            if "stopping after iteration" in line:
                break
        process.send_signal(second)
        _, err = process.communicate(timeout=300)
        assert process.returncode in (130, 143), err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
        if err.strip() or process.returncode != 143:
            break
    assert err.strip(), "the second signal never landed while the artifacts were written"
    assert "aborted" in err.strip().splitlines()[-1]


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_an_abort_a_library_turns_into_its_own_error_still_aborts(second):
    # torch.save's zip writer, interrupted by the second signal, raises a RuntimeError of its
    # own on the way out ("unexpected pos ..."); the run must still end as aborted
    from neuralsde.fit.signals import Aborted, StopOnSignal

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the shell started us in background
    stop = StopOnSignal(lambda line: None)
    with pytest.raises(Aborted) as info, stop:
        signal.raise_signal(signal.SIGTERM)
        assert stop.signalled and stop.aborted is None
        try:
            signal.raise_signal(second)
        except Aborted:
            raise RuntimeError("[enforce fail at inline_container.cc] unexpected pos") from None
    assert info.value.signum == second
    assert isinstance(info.value.__cause__, RuntimeError)
    assert signal.getsignal(signal.SIGINT) is before  # handlers put back


def test_an_error_without_a_second_signal_is_left_alone():
    from neuralsde.fit.signals import StopOnSignal

    stop = StopOnSignal(lambda line: None)
    with pytest.raises(RuntimeError, match="disk"), stop:
        signal.raise_signal(signal.SIGTERM)
        raise RuntimeError("disk")
    assert stop.signalled and stop.aborted is None


# ----------------------------------------------------------------------------- CLI: --resume data


def _csv_run(tmp_path):
    from neuralsde.fit import main

    data = tmp_path / "series.csv"
    rows = "\n".join(f"{t},{math.sin(t / 2):.6f}" for t in range(12))
    data.write_text("t,y\n" + rows + "\n")
    folder = tmp_path / "run"
    assert main(["--data", str(data), "--iters", "3", "--windows", "2", "--window-samples", "2",
                 "--window-length", "2", "--samples", "3", "--quiet", "--out", str(folder)]) == 0
    return data, folder


def test_resume_refuses_data_whose_content_changed(tmp_path, capsys):
    from neuralsde.fit import main

    data, folder = _csv_run(tmp_path)
    original = data.read_text()
    stored = json.loads((folder / "run.json").read_text())["data_fingerprint"]
    assert stored["shape"] == [12, 1, 1] and stored["names"] == ["y"] and stored["sha256"]
    data.write_text(original.replace("\n3,", "\n3,1", 1))  # one value changed
    before = _snapshot(folder)
    line = _refused(["--resume", str(folder), "--quiet"], capsys)
    assert "no longer match" in line and str(data) in line and "content changed" in line
    assert _snapshot(folder) == before
    data.write_text(original)
    assert main(["--resume", str(folder), "--quiet"]) == 0


def test_resume_of_a_run_folder_without_a_fingerprint_still_works(tmp_path):
    from neuralsde.fit import main

    data, folder = _csv_run(tmp_path)
    run = json.loads((folder / "run.json").read_text())
    del run["data_fingerprint"]  # a run folder written before fingerprints
    (folder / "run.json").write_text(json.dumps(run))
    assert main(["--resume", str(folder), "--quiet"]) == 0


# ----------------------------------------------------------------------------- CLI: data errors


def _data_error(tmp_path, capsys, text, *flags):
    data = tmp_path / "data.csv"
    data.write_text(text)
    line = _refused(["--data", str(data), *flags, "--out", str(tmp_path / "never")], capsys)
    assert line.count(str(data)) == 1  # named once: "--data X: ...", not "--data X: X: ..."
    assert not (tmp_path / "never").exists()
    return line


@pytest.mark.parametrize("flags, said", [
    (["--time-column", "when"], "--time-column 'when'"),
    (["--columns", "z"], "--columns names 'z'"),
    (["--group-column", "g"], "--group-column 'g'"),
])
def test_data_errors_speak_in_flags_in_one_line(tmp_path, capsys, flags, said):
    line = _data_error(tmp_path, capsys, "t,y\n0,1\n1,2\n2,3\n", *flags)
    assert said in line
    assert "time_column=" not in line and "columns=" not in line and "group_column=" not in line


@pytest.mark.parametrize("sep, name", [(";", "';'"), ("\t", "tab")])
def test_a_file_that_is_not_comma_separated_gets_a_hint(tmp_path, capsys, sep, name):
    line = _data_error(tmp_path, capsys, f"t{sep}y\n0{sep}1\n1{sep}2\n2{sep}3\n")
    assert f"the header has {name} separators; neuralsde reads comma-separated files" in line


def test_a_malformed_command_line_still_shows_the_usage(capsys):
    from neuralsde.fit import main

    with pytest.raises(SystemExit) as info:
        main(["--iters", "x"])
    assert info.value.code == 2 and "usage:" in capsys.readouterr().err


def test_help_explains_every_tableau(capsys):
    from neuralsde.fit import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at "-"
    start = text.index("--tableau {sosri,sriw1,srid2} SRI")  # the entry, not the usage line
    entry = text[start:text.index("--gradient {", start)]
    assert "sosri, stability-optimised" in entry and "Rößler's SRI1" in entry
    assert "srid2, the scheme of torchsde's srk" in entry
