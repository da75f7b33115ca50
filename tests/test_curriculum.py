"""Curriculum: the exact schedule and argument checks."""

import dataclasses

import pytest

from neuralsde.curriculum import Stage, stages, total_iters


def test_reference_schedule_for_7_points():
    schedule = stages(7)
    assert schedule == [
        Stage("all 7 points", 7, 500),
        Stage("first 2 points", 2, 300),
        Stage("first 3 points", 3, 300),
        Stage("first 4 points", 4, 300),
        Stage("first 5 points", 5, 300),
        Stage("first 6 points", 6, 300),
        Stage("first 7 points", 7, 300),
    ]
    assert total_iters(schedule) == 2300


def test_step_2_ends_exactly_at_n_points():
    assert [s.n_points for s in stages(7, step=2)] == [7, 2, 4, 6, 7]
    assert [s.n_points for s in stages(8, step=2)] == [8, 2, 4, 6, 8]
    assert [s.n_points for s in stages(7, first=3, step=10)] == [7, 3, 7]
    assert [s.n_points for s in stages(7, first=7)] == [7, 7]


def test_no_curriculum_gives_only_the_initial_stage():
    assert stages(7, curriculum=False) == [Stage("all 7 points", 7, 500)]
    assert total_iters(stages(5, initial_iters=42, curriculum=False)) == 42


def test_zero_iteration_stages_are_omitted():
    schedule = stages(4, initial_iters=0, iters=10)
    assert [(s.name, s.n_points, s.iters) for s in schedule] == [
        ("first 2 points", 2, 10), ("first 3 points", 3, 10), ("first 4 points", 4, 10)]
    assert stages(4, initial_iters=0, curriculum=False) == []
    assert total_iters([]) == 0


def test_stage_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        stages(7)[0].iters = 1


@pytest.mark.parametrize("kwargs, match", [
    ({"n_points": 1}, r"n_points=1 .*>= 2"),
    ({"n_points": 7.0}, r"n_points=7\.0 "),
    ({"n_points": True}, r"n_points=True "),
    ({"first": 1}, r"first=1 .*>= 2"),
    ({"first": 8}, r"first=8 .*first <= n_points=7"),
    ({"first": True}, r"first=True "),
    ({"step": 0}, r"step=0 .*>= 1"),
    ({"step": 1.5}, r"step=1\.5 "),
    ({"iters": -1}, r"iters=-1 .*>= 0"),
    ({"iters": False}, r"iters=False "),
    ({"initial_iters": -5}, r"initial_iters=-5 .*>= 0"),
    ({"initial_iters": "500"}, r"initial_iters='500' "),
    ({"curriculum": 1}, r"curriculum=1 .*True or False"),
])
def test_bad_arguments_raise_naming_argument(kwargs, match):
    args = {"n_points": 7, **kwargs}
    n_points = args.pop("n_points")
    with pytest.raises(ValueError, match=match):
        stages(n_points, **args)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        stages(7, 500)


def test_stage_validates_itself():
    with pytest.raises(ValueError, match=r"n_points=1 "):
        Stage("x", 1, 10)
    with pytest.raises(ValueError, match=r"iters=-1 "):
        Stage("x", 3, -1)


def test_total_iters_rejects_non_stages():
    with pytest.raises(ValueError, match="Stage"):
        total_iters([Stage("a", 2, 1), 3])
