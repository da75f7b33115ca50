"""The rule that picks the automatic configuration's choice and members from the validation
scores (neuralsde.auto._ranked), on made-up scores."""

import numpy as np

from neuralsde import auto


def _row(key, overrides, by_origin):
    return {"key": key, "overrides": overrides, "score": float(np.mean(by_origin)),
            "by_origin": list(by_origin)}


def test_the_simplest_candidate_within_one_standard_error_of_the_best_is_chosen():
    plain = _row("plain", {"scaling": "standard"}, [1.0, 1.2, 0.9, 1.1])
    # a trend 1 % better on average but worse at two origins: the paired differences'
    # standard error (0.021) covers the gap, so the simpler plain scaling is chosen
    trend = _row("trend", {"scaling": "trend"}, [0.95, 1.16, 0.93, 1.12])
    diff = np.subtract(plain["by_origin"], trend["by_origin"])
    assert plain["score"] - trend["score"] <= diff.std(ddof=1) / 2
    assert [r["key"] for r in auto._ranked([plain, trend])] == ["plain", "trend"]
    # better at every origin by far more than the error: only the trend is kept
    clear = _row("trend", {"scaling": "trend"}, [0.5, 0.6, 0.45, 0.55])
    assert [r["key"] for r in auto._ranked([plain, clear])] == ["trend"]
    # an infinite score (a refused candidate) is never taken; nothing scored: the base row
    refused = {"key": "log", "overrides": {"scaling": "log"}, "score": float("inf")}
    assert [r["key"] for r in auto._ranked([refused, clear])] == ["trend"]
    base = {"key": "base", "overrides": {}, "score": None}
    assert auto._ranked([base]) == [base]


def test_complexity_counts_what_a_candidate_adds_to_the_base():
    assert auto._complexity({}) == auto._complexity({"scaling": "standard-season"}) == 0
    assert auto._complexity({"scaling": "log"}) == auto._complexity({"scaling": "trend"}) == 1
    assert auto._complexity({"scaling": "log-trend-season", "state_dim": 2,
                             "window_length": 32}) == 4
