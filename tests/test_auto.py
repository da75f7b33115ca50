"""The automatic configuration (neuralsde.auto): candidates validated inside the training data
only, the best ones forecasting as one mixture, recorded, reproducible and resumable; and, on
simulated series with known laws, choices that do their job."""

import json
import os
import signal

import numpy as np
import pandas as pd
import pytest

import neuralsde as ns
from neuralsde import auto
from neuralsde.fit import main
from neuralsde.metrics import _crps_entries

#: Tiny fits: every setting the automatic configuration chooses is left at "auto".
AUTO_TINY = {"iters": 6, "windows": 4, "window_samples": 4, "samples": 20}


def _ar1(n=80, seed=0, phi=0.8, level=5.0):
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal()
    return x + level


def _all_close(row, best):
    return True


@pytest.fixture(autouse=True)
def _two_members(request, monkeypatch):
    """Tiny fits' validation scores are noise, and the rule (tests/test_auto_rule.py) may keep
    one member. The mixture's mechanics need two: here every candidate counts as close to the
    best, so the members are the simplest and the best of the others. Not on the simulated
    laws, which test the rule's choices."""
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setattr(auto, "_within_noise", _all_close)


@pytest.fixture(scope="module")
def fitted():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auto, "_within_noise", _all_close)
        return ns.Forecaster(**AUTO_TINY).fit(_ar1())


def test_defaults_choose_by_validation_and_record_every_candidate(fitted):
    selection = fitted.selection_
    rows = selection["candidates"]
    # positive data: the four scalings first, each validated with a finite score
    assert [r["key"] for r in rows[:4]] == ["scaling=standard", "scaling=log", "scaling=trend",
                                            "scaling=log-trend"]
    assert all(np.isfinite(r["score"]) and r["seconds"] >= 0 for r in rows)
    best_scaling = auto._ranked(rows[:4])[0]["overrides"]["scaling"]  # the stage's choice
    assert all(r["overrides"]["scaling"] == best_scaling for r in rows[4:])
    assert {"state_dim": 2} in [{k: v for k, v in r["overrides"].items() if k == "state_dim"}
                                for r in rows[4:]]
    # the members are the candidates validation cannot tell from the best, the simplest first,
    # each fitted with its settings (here two: the mixture's tests below need both)
    ranked = auto._ranked(rows)
    best = min(rows, key=lambda r: r["score"])
    chosen = sorted(ranked[:2], key=lambda r: r["score"])  # listed best first
    assert selection["members"] == [r["key"] for r in chosen]
    assert len(fitted.members_) == 2 and selection["members"][0] == best["key"]
    for member, row in zip(fitted.members_, chosen):
        for key, value in row["overrides"].items():
            assert member.settings_[key] == value, key
    assert fitted.settings_ == fitted.members_[0].settings_
    assert fitted.summary()["selection"] == selection
    assert fitted.settings_["period"] is None  # plain numbers: no season from dates


def test_a_setting_given_by_hand_is_not_searched():
    model = ns.Forecaster(**AUTO_TINY, scaling="log", state_dim=1).fit(_ar1())
    rows = model.selection_["candidates"]
    assert {r["overrides"].get("scaling") for r in rows} == {None}
    assert all("state_dim" not in r["overrides"] for r in rows)
    assert model.settings_["scaling"] == "log" and model.settings_["state_dim"] == 1
    fixed = ns.Forecaster(**AUTO_TINY, scaling="standard", state_dim=1, window_length=3)
    fixed.fit(_ar1())
    assert fixed.selection_ is None and fixed.members_ == [fixed]


def test_a_series_too_short_to_validate_fits_the_base_configuration_longer():
    model = ns.Forecaster(**AUTO_TINY).fit(_ar1(n=30))
    assert "too few to validate" in model.selection_["note"]
    assert model.selection_["members"] == ["base"]
    assert model.settings_["scaling"] == "standard"
    steps = [r for r in model.history_ if not r.get("event")]
    assert len(steps) == AUTO_TINY["iters"] * auto.UNVALIDATED_ITERS


def test_the_mixture_is_its_members_paths_and_no_worse_than_their_mean_crps(fitted):
    mixed = fitted.forecast(8, samples=40, seed=7)
    parts = [m.forecast(8, samples=20, seed=7 + i) for i, m in enumerate(fitted.members_)]
    np.testing.assert_array_equal(mixed.samples,
                                  np.concatenate([p.samples for p in parts]))
    truth = _ar1(n=88)[80:]  # any outcome: the CRPS is convex in the forecast distribution
    for y in (truth, truth + 3.0, truth - 3.0):
        mix = _crps_entries(mixed.samples[:, :, 0], y).mean()
        members = np.mean([_crps_entries(p.samples[:, :, 0], y).mean() for p in parts])
        assert mix <= members + 1e-12
    assert auto.split_samples(5, 2) == [3, 2] and auto.split_samples(1, 3) == [1]


def test_same_seed_same_numbers_and_save_load_keeps_the_mixture(fitted, tmp_path):
    again = ns.Forecaster(**AUTO_TINY).fit(_ar1())
    pd.testing.assert_frame_equal(fitted.predict(5), again.predict(5))
    other = ns.Forecaster(**AUTO_TINY, seed=1).fit(_ar1())
    assert not fitted.predict(5)["mean"].equals(other.predict(5)["mean"])
    loaded = ns.Forecaster.load(fitted.save(tmp_path / "model.pt"))
    assert len(loaded.members_) == 2 and loaded.selection_ == fitted.selection_
    pd.testing.assert_frame_equal(fitted.predict(5), loaded.predict(5))


def _stop_at(monkeypatch, name, call):
    """Make ``auto.<name>`` raise KeyboardInterrupt at its ``call``-th call."""
    real, calls = getattr(auto, name), []

    def stopping(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(auto, name, stopping)
    return real


@pytest.mark.parametrize("where, call", [("_score", 3), ("_member", 2)])
def test_a_stopped_fit_resumes_to_the_uninterrupted_result(fitted, tmp_path, monkeypatch,
                                                           where, call):
    folder = tmp_path / "selection"
    real = _stop_at(monkeypatch, where, call)
    with pytest.raises(KeyboardInterrupt):  # one process: the patched function runs here
        ns.Forecaster(**AUTO_TINY, jobs=1).fit(_ar1(), checkpoint_dir=folder)
    saved = json.loads((folder / "selection.json").read_text())["candidates"]
    assert len(saved) == (call - 1 if where == "_score" else len(fitted.selection_["candidates"]))
    monkeypatch.setattr(auto, where, real)
    scored = []
    monkeypatch.setattr(auto, "_score", lambda *a, **k: scored.append(1) or real_score(*a, **k))
    resumed = ns.Forecaster(**AUTO_TINY, jobs=1).fit(_ar1(), checkpoint_dir=folder)
    assert len(scored) == len(fitted.selection_["candidates"]) - len(saved)  # none redone
    assert resumed.selection_["members"] == fitted.selection_["members"]
    pd.testing.assert_frame_equal(fitted.predict(5), resumed.predict(5))
    with pytest.raises(ValueError, match="checkpoint_dir=.*other data or settings"):
        ns.Forecaster(**AUTO_TINY).fit(_ar1(seed=3), checkpoint_dir=folder)


real_score = auto._score


def test_no_leak_a_step_right_after_the_origin_changes_nothing():
    y = _ar1(n=90)
    jumped = y.copy()
    jumped[85:] += 50.0  # the last origin is after point 85: only the truth changes
    forecaster = ns.Forecaster(**AUTO_TINY)
    plain = forecaster.cross_validation(y, h=5, n_windows=1)
    stepped = forecaster.cross_validation(jumped, h=5, n_windows=1)
    columns = ["cutoff", "ds", "mean", "median", "lo-50", "hi-50", "lo-90", "hi-90", "config"]
    pd.testing.assert_frame_equal(plain[columns], stepped[columns])
    assert (stepped["y"] - plain["y"]).eq(50.0).all()
    cut = ns.Forecaster(**AUTO_TINY).fit(y[:85]).selection_["members"]
    assert plain["config"].iloc[0] == " | ".join(cut)


def test_the_cli_uses_the_automatic_configuration_and_resumes_it(tmp_path):
    data = tmp_path / "y.csv"
    y = _ar1(n=70)
    data.write_text("t,y\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(y)))
    out = tmp_path / "run"
    flags = ["--data", str(data), "--iters", "6", "--windows", "4", "--window-samples", "4",
             "--samples", "20", "--holdout", "0.2", "--horizon", "4", "--quiet"]
    assert main([*flags, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    selection = metrics["settings"]["selection"]
    assert len(selection["members"]) == 2 and len(selection["candidates"]) >= 5
    stored = json.loads((out / "run.json").read_text())["settings"]
    assert stored["scaling"] == stored["state_dim"] == stored["window_length"] == "auto"
    assert selection["members"][0].startswith("scaling=")
    # load_run gives the mixture that wrote forecast.csv
    run = ns.load_run(out)
    series = ns.load_csv(data)
    again = run.forecaster.forecast(4, data=series, samples=20,
                                    seed=metrics["sample_seed"])
    table = pd.read_csv(out / "forecast.csv")
    np.testing.assert_allclose(table["mean"].to_numpy(), again.mean[:, 0], rtol=1e-9)
    # a run killed before its last member and its artifacts, resumed: the same forecast
    first = (out / "forecast.csv").read_text()
    for name in ("metrics.json", "forecaster.pt", "forecast.csv"):
        (out / name).unlink()
    members = sorted((out / "selection").glob("member-*.pt"))
    assert len(members) == 2
    members[0].unlink()
    assert main(["--resume", str(out), "--quiet"]) == 0
    assert (out / "forecast.csv").read_text() == first


def test_a_signal_stops_the_cli_between_fits_and_resume_ends_as_an_uninterrupted_run(
        tmp_path, monkeypatch):
    data = tmp_path / "y.csv"
    data.write_text("t,y\n" + "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(_ar1(70))))
    flags = ["--data", str(data), "--iters", "6", "--windows", "4", "--window-samples", "4",
             "--samples", "20", "--horizon", "4", "--quiet", "--jobs", "1"]
    assert main([*flags, "--out", str(tmp_path / "whole")]) == 0
    real, calls = auto._score, []

    def signalling(*args, **kwargs):  # Ctrl-C while the second candidate trains
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(auto, "_score", signalling)
    out = tmp_path / "run"
    assert main([*flags, "--out", str(out)]) == 130  # stopped before the third
    assert not (out / "metrics.json").exists() and len(calls) == 2
    saved = json.loads((out / "selection" / "selection.json").read_text())["candidates"]
    assert len(saved) == 2
    monkeypatch.setattr(auto, "_score", real)
    assert main(["--resume", str(out), "--quiet"]) == 0
    assert ((out / "forecast.csv").read_text()
            == (tmp_path / "whole" / "forecast.csv").read_text())


# ----------------------------------------------------------------------------- on simulated laws

SIM = {"iters": 150}


@pytest.mark.slow
def test_a_trending_random_walk_is_forecast_to_go_on_rising():
    rng = np.random.default_rng(1)
    y = 10.0 + np.cumsum(0.5 + rng.normal(0.0, 1.0, 200))
    mean = ns.Forecaster(**SIM).fit(y).predict(10)["mean"].to_numpy()
    # A flat (random walk) forecast rises by 0 and a reverting one falls. Validation may rank
    # standard scaling with trend (a tie within noise): the mixture of the two then rises by
    # about 40 % of the drift's 5 over 10 steps (seeds 1 to 3: 75 %), so a quarter is asked.
    assert mean[-1] - y[-1] > 0.25 * 10 * 0.5
    assert np.all(np.diff(mean[::3]) > 0)


@pytest.mark.slow
def test_an_ou_series_is_forecast_to_revert_to_its_mean():
    y = _ar1(n=200, seed=1, phi=0.7, level=0.0)
    y[-1] = 4.0  # far above the mean (0) at the origin
    mean = ns.Forecaster(**SIM).fit(y).predict(10)["mean"].to_numpy()
    assert abs(mean[-1]) < 0.3 * 4.0 and mean[0] < 4.0


@pytest.mark.slow
def test_a_noisy_oscillator_seen_in_one_channel_gets_a_latent_channel():
    rng = np.random.default_rng(1)
    w, damping = 2 * np.pi / 12, 0.02
    turn = np.exp(-damping) * np.array([[np.cos(w), np.sin(w)], [-np.sin(w), np.cos(w)]])
    x = np.zeros((200, 2))
    x[0] = [3.0, 0.0]
    for t in range(1, 200):
        x[t] = turn @ x[t - 1] + rng.normal(0.0, 0.3, 2)
    model = ns.Forecaster(**SIM).fit(x[:, 0])
    assert model.settings_["state_dim"] == 2, model.selection_



@pytest.mark.parametrize("dt, validation", [(0.25, 0.5), (0.1, 0.2), (0.4, 0.5), (0.8, 0.8),
                                            (None, None)])
def test_validation_fits_take_longer_steps_and_members_the_given_ones(dt, validation):
    adaptive = {"method": "sri"} if dt is None else {}  # adaptive steps: nothing to stretch
    forecaster = ns.Forecaster(**AUTO_TINY, **adaptive, dt=dt)
    base = auto.base_settings({**forecaster.params, "period": None})
    base.pop("ensemble")
    assert auto._candidate(forecaster, base, {}, selection=True).params["dt"] == validation
    assert auto._candidate(forecaster, base, {}, selection=False).params["dt"] == dt
    assert auto._candidate(forecaster, base, {}, selection=False, warm=True).params["dt"] == dt
