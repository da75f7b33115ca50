"""Write the development collection into data/dev/: public series copied from the statsmodels
and sktime packages, and simulated series with known laws and exact forecasts.

    pip install statsmodels sktime scipy    # only to regenerate; the files are committed
    python data/make_dev_collection.py                     # everything, into data/dev/
    python data/make_dev_collection.py --part simulated    # the simulated series only
    python data/make_dev_collection.py --out /tmp/dev --seed 0

Nothing is downloaded: the public series are read from the data files that statsmodels and
sktime install with themselves. Quarterly dates are quarter ends (1959-03-31, 1959-06-30, ...).
Floats are written with Python's ``repr``, so ``neuralsde.data.load_csv`` reads back exactly the
numbers written. Each simulated series ``<name>.csv`` (columns ``t``, ``y``) has a companion
``<name>.json`` with its law, parameters, spacing, seed and, where they exist in closed form,
the exact conditional mean and variance. Series ``k`` of :data:`SIMULATED` (counted from 0) is
drawn with ``numpy.random.default_rng(seed + k)``; the same ``--seed`` gives the same bytes
(with the same numpy and scipy versions). See data/README.md for sources and licences.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_SEED = 0

#: The G20 countries (the European Union aside), all complete 1960-2011 in the fertility data.
FERTILITY_COUNTRIES = ("ARG", "AUS", "BRA", "CAN", "CHN", "DEU", "FRA", "GBR", "IDN", "IND",
                       "ITA", "JPN", "KOR", "MEX", "RUS", "SAU", "TUR", "USA", "ZAF")
FERTILITY_YEARS = range(1960, 2012)  # 2012 and 2013 are empty in the source
MACRO_COLUMNS = ("realgdp", "realcons", "cpi", "infl", "m1")
USCHANGE_COLUMNS = ("Income", "Production", "Savings", "Unemployment")


def _number(value) -> str:
    value = float(value)
    return "" if value != value else repr(value)


def _write_rows(path: Path, header, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"wrote {path}")


def quarter_end(year, quarter) -> str:
    """The last day of a quarter as an ISO date: ``quarter_end(1959, 1) == "1959-03-31"``."""
    month = 3 * int(quarter)
    day = 31 if month in (3, 12) else 30
    return f"{int(year):04d}-{month:02d}-{day:02d}"


# --------------------------------------------------------------------------------------------------
# Public series, from the installed packages
# --------------------------------------------------------------------------------------------------


def _sktime_data() -> Path:
    """sktime's bundled ``datasets/data`` folder, found without importing sktime."""
    spec = importlib.util.find_spec("sktime")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("sktime is not installed; pip install sktime")
    return Path(spec.origin).parent / "datasets" / "data"


def write_real(out: Path) -> None:
    """macrodata, interest_inflation, fertility (statsmodels); uschange, solar (sktime)."""
    import pandas as pd
    from statsmodels.datasets import fertility, interest_inflation, macrodata

    macro = macrodata.load_pandas().data
    _write_rows(out / "macrodata.csv", ("date",) + MACRO_COLUMNS,
                ([quarter_end(y, q)] + [_number(row[c]) for c in MACRO_COLUMNS]
                 for y, q, (_, row) in zip(macro["year"], macro["quarter"], macro.iterrows())))
    rates = interest_inflation.load_pandas().data
    _write_rows(out / "interest_inflation.csv", ("date", "Dp", "R"),
                ((quarter_end(y, q), _number(dp), _number(r)) for y, q, dp, r in
                 zip(rates["year"], rates["quarter"], rates["Dp"], rates["R"])))
    wide = fertility.load_pandas().data.set_index("Country Code")
    _write_rows(out / "fertility.csv", ("year", "id", "value"),
                ((year, code, _number(wide.loc[code, str(year)]))
                 for code in FERTILITY_COUNTRIES for year in FERTILITY_YEARS))
    base = _sktime_data()
    us = pd.read_csv(base / "Uschange" / "Uschange.csv", index_col=0).sort_values("Quarter")
    _write_rows(out / "uschange.csv", ("date",) + USCHANGE_COLUMNS,
                ([quarter_end(*quarter.split(" Q"))] + [_number(row[c]) for c in USCHANGE_COLUMNS]
                 for quarter, (_, row) in zip(us["Quarter"], us.iterrows())))
    solar = pd.read_csv(base / "solar" / "solar.csv", dtype={"datetime_gmt": str})
    _write_rows(out / "solar.csv", ("datetime_gmt", "solar_gen"),
                ((t.replace(" ", "T"), _number(v))
                 for t, v in zip(solar["datetime_gmt"], solar["solar_gen"])))


# --------------------------------------------------------------------------------------------------
# Simulated series
# --------------------------------------------------------------------------------------------------


def simulate_ou(rng, *, theta, sigma, spacing, points):
    """Exact OU path from the stationary law: ``y_{k+1} = a y_k + s e``, ``a = e^{-theta h}``."""
    a = math.exp(-theta * spacing)
    s = sigma * math.sqrt((1 - a * a) / (2 * theta))
    y = np.empty(points)
    y[0] = sigma / math.sqrt(2 * theta) * rng.standard_normal()
    noise = rng.standard_normal(points - 1)
    for k in range(points - 1):
        y[k + 1] = a * y[k] + s * noise[k]
    return y


def simulate_cir(rng, *, kappa, theta, sigma, spacing, points):
    """Exact CIR path (noncentral chi-square transition) from the stationary Gamma law."""
    decay = math.exp(-kappa * spacing)
    c = sigma ** 2 * (1 - decay) / (4 * kappa)
    df = 4 * kappa * theta / sigma ** 2
    y = np.empty(points)
    y[0] = rng.gamma(2 * kappa * theta / sigma ** 2, sigma ** 2 / (2 * kappa))
    for k in range(points - 1):
        y[k + 1] = c * rng.noncentral_chisquare(df, y[k] * decay / c)
    return y


def simulate_random_walk(rng, *, mu, sigma, y0, spacing, points):
    """Brownian motion with drift at the observation times: exact Gaussian increments."""
    steps = mu * spacing + sigma * math.sqrt(spacing) * rng.standard_normal(points - 1)
    return np.concatenate([[y0], y0 + np.cumsum(steps)])


def seasonal_mean(t, *, theta, amplitude, period):
    """The periodic solution ``m(t)`` of ``dm/dt = -theta (m - A sin(2 pi t / P))``."""
    omega = 2 * math.pi / period
    return (amplitude * theta * (theta * np.sin(omega * t) - omega * np.cos(omega * t))
            / (theta ** 2 + omega ** 2))


def simulate_seasonal_ou(rng, *, theta, sigma, amplitude, period, spacing, points):
    """``y = m(t) + z`` with ``z`` an exact stationary OU path: the law of the seasonal OU."""
    t = spacing * np.arange(points)
    z = simulate_ou(rng, theta=theta, sigma=sigma, spacing=spacing, points=points)
    return seasonal_mean(t, theta=theta, amplitude=amplitude, period=period) + z


def oscillator_transition(*, omega, zeta, sigma, spacing):
    """``(Phi, Q)``: the state ``(x, v)``'s exact transition matrix and noise covariance over
    ``spacing`` (Van Loan's block matrix exponential)."""
    from scipy.linalg import expm

    a = np.array([[0.0, 1.0], [-omega ** 2, -2 * zeta * omega]])
    bb = np.array([[0.0, 0.0], [0.0, sigma ** 2]])
    block = expm(np.block([[-a, bb], [np.zeros((2, 2)), a.T]]) * spacing)
    phi = block[2:, 2:].T
    q = phi @ block[:2, 2:]
    return phi, (q + q.T) / 2


def simulate_oscillator(rng, *, omega, zeta, sigma, spacing, points):
    """Exact path of ``x`` from the stationary law, ``(x, v)`` independent with variances
    ``sigma^2 / (4 zeta omega^3)`` and ``sigma^2 / (4 zeta omega)``."""
    phi, q = oscillator_transition(omega=omega, zeta=zeta, sigma=sigma, spacing=spacing)
    root = np.linalg.cholesky(q)
    state = np.array([sigma / math.sqrt(4 * zeta * omega ** 3),
                      sigma / math.sqrt(4 * zeta * omega)]) * rng.standard_normal(2)
    noise = rng.standard_normal((points - 1, 2))
    x = np.empty(points)
    x[0] = state[0]
    for k in range(points - 1):
        state = phi @ state + root @ noise[k]
        x[k + 1] = state[0]
    return x


def simulate_double_well(rng, *, sigma, y0, spacing, substeps, points):
    """Euler-Maruyama at ``spacing / substeps``, kept every ``substeps`` steps."""
    dt = spacing / substeps
    scale = sigma * math.sqrt(dt)
    noise = (scale * rng.standard_normal((points - 1) * substeps)).tolist()
    y, out = float(y0), [float(y0)]
    for k in range(points - 1):
        for e in noise[k * substeps:(k + 1) * substeps]:
            y = y + (y - y * y * y) * dt + e
        out.append(y)
    return np.array(out)


def well_switches(y, level: float = 0.5) -> int:
    """How many times the path goes from below ``-level`` to above ``level`` or back."""
    side, count = 0, 0
    for value in y:
        new = 1 if value > level else -1 if value < -level else side
        count += side != 0 and new != side
        side = new
    return int(count)


OU_MEAN = "y_s exp(-theta h)"
OU_VAR = "sigma^2 (1 - exp(-2 theta h)) / (2 theta)"

#: name -> (simulator, parameters, law, conditional mean, conditional variance, notes).
SIMULATED = {
    "ou": (simulate_ou, dict(theta=0.5, sigma=0.3, spacing=0.25, points=1000),
           "dy = -theta y dt + sigma dW", OU_MEAN, OU_VAR,
           "exact AR(1) transition y_{k+1} = exp(-theta h) y_k + sd e, from the stationary law "
           "N(0, sigma^2 / (2 theta)); lag-1 autocorrelation exp(-theta spacing)"),
    "cir": (simulate_cir, dict(kappa=1.0, theta=1.0, sigma=0.5, spacing=0.5, points=1000),
            "dy = kappa (theta - y) dt + sigma sqrt(y) dW",
            "theta + (y_s - theta) exp(-kappa h)",
            "y_s sigma^2 exp(-kappa h) (1 - exp(-kappa h)) / kappa + theta sigma^2 "
            "(1 - exp(-kappa h))^2 / (2 kappa)",
            "exact transition y_{k+1} = c X, c = sigma^2 (1 - exp(-kappa h)) / (4 kappa), X "
            "noncentral chi-square with 4 kappa theta / sigma^2 degrees of freedom and "
            "noncentrality y_k exp(-kappa h) / c; from the stationary law Gamma(shape 2 kappa "
            "theta / sigma^2, scale sigma^2 / (2 kappa)); Feller's condition holds"),
    "random_walk_drift": (simulate_random_walk,
                          dict(mu=0.05, sigma=0.2, y0=0.0, spacing=1.0, points=500),
                          "dy = mu dt + sigma dW", "y_s + mu h", "sigma^2 h",
                          "exact Gaussian increments N(mu h, sigma^2 h), from y0"),
    "seasonal_ou": (simulate_seasonal_ou,
                    dict(theta=0.3, sigma=0.5, amplitude=2.0, period=12.0, spacing=1.0,
                         points=600),
                    "dy = -theta (y - A sin(2 pi t / P)) dt + sigma dW",
                    "m(s + h) + exp(-theta h) (y_s - m(s)), m(t) = A theta (theta sin(w t) - "
                    "w cos(w t)) / (theta^2 + w^2), w = 2 pi / P", OU_VAR,
                    "y = m(t) + z with z an exact stationary OU path (same theta, sigma); A = "
                    "amplitude, P = period, time t from 0"),
    "damped_oscillator": (simulate_oscillator,
                          dict(omega=2 * math.pi / 25, zeta=0.1, sigma=0.1, spacing=1.0,
                               points=800),
                          "dx = v dt, dv = (-omega^2 x - 2 zeta omega v) dt + sigma dW; only x "
                          "observed",
                          "first component of expm(A h) (x_s, v_s), A = [[0, 1], [-omega^2, "
                          "-2 zeta omega]]",
                          "first diagonal entry of int_0^h expm(A u) B B^T expm(A u)^T du, B = "
                          "(0, sigma)",
                          "exact Gaussian transition of the state (x, v) over one spacing: "
                          "(x, v)_{k+1} = Phi (x, v)_k + N(0, Q), Phi and Q below; from the "
                          "stationary law; v is not in the file, so the exact forecast from the "
                          "observed x alone is the Kalman filter's with Phi, Q and H = (1, 0)"),
    "double_well": (simulate_double_well,
                    dict(sigma=0.5, y0=1.0, spacing=0.5, substeps=100, points=5000),
                    "dy = (y - y^3) dt + sigma dW", None, None,
                    "Euler-Maruyama with step spacing / substeps, observed every substeps "
                    "steps, from y0; no closed-form transition; stationary density proportional "
                    "to exp((y^2 - y^4 / 2) / sigma^2); wells at -1 and 1"),
}


def _record(name: str, seed: int, y: np.ndarray) -> dict:
    simulator, params, law, mean, var, notes = SIMULATED[name]
    record = {"name": name, "law": law, "parameters": {k: v for k, v in params.items()
                                                       if k not in ("spacing", "points")},
              "spacing": params["spacing"], "points": params["points"], "seed": seed,
              "generator": f"numpy.random.default_rng({seed})", "notes": notes}
    if mean is not None:
        record["conditional_mean"] = f"E[y(s + h) | y(s) = y_s] = {mean}"
        record["conditional_variance"] = f"Var[y(s + h) | y(s) = y_s] = {var}"
    if name == "damped_oscillator":
        phi, q = oscillator_transition(**{k: params[k] for k in ("omega", "zeta", "sigma",
                                                                 "spacing")})
        record["conditional_mean"] = f"E[x(s + h) | x(s), v(s)] = {mean}"
        record["conditional_variance"] = f"Var[x(s + h) | x(s), v(s)] = {var}"
        record["Phi"], record["Q"] = phi.tolist(), q.tolist()
    if name == "double_well":
        record["switches"] = well_switches(y)
        record["switches_rule"] = "crossings from below -0.5 to above 0.5 or back"
    return record


def write_simulated(out: Path, seed: int = DEFAULT_SEED) -> None:
    """Each series of :data:`SIMULATED` as ``<name>.csv`` and ``<name>.json`` in ``out``."""
    for k, (name, (simulator, params, *_)) in enumerate(SIMULATED.items()):
        y = simulator(np.random.default_rng(seed + k), **params)
        t = params["spacing"] * np.arange(params["points"])
        _write_rows(out / f"{name}.csv", ("t", "y"),
                    ((repr(float(a)), repr(float(b))) for a, b in zip(t, y)))
        text = json.dumps(_record(name, seed + k, y), indent=2) + "\n"
        (out / f"{name}.json").write_text(text, encoding="utf-8")
        print(f"wrote {out / f'{name}.json'}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(HERE / "dev"),
                   help="folder to write to (default: data/dev/)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help=f"base seed of the simulated series (default: {DEFAULT_SEED})")
    p.add_argument("--part", choices=("all", "real", "simulated"), default="all",
                   help="which files to write (default: all)")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.part in ("all", "real"):
        write_real(out)
    if args.part in ("all", "simulated"):
        write_simulated(out, args.seed)


if __name__ == "__main__":
    main()
