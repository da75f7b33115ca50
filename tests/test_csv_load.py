"""load_csv reading the file in blocks: progress reports, results that do not depend on the
block size, exact numbers, and which error wins when a file has several problems.

The messages asserted here are those load_csv gave when it read every row into a list first.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch

import neuralsde.data.csv_file as csv_file
from neuralsde.data import load_csv
from neuralsde.data.csv_file import csv_progress_bar


def write(tmp_path: Path, content: str | bytes, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def message(path: Path, **kwargs) -> str:
    """load_csv's ValueError message, without the leading path."""
    with pytest.raises(ValueError) as info:
        load_csv(path, **kwargs)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    return text[len(f"{path}: "):]


def same_series(a, b) -> bool:
    """Bit for bit equal values and equal metadata."""
    return (a.ts.numpy().tobytes() == b.ts.numpy().tobytes()
            and a.ys.shape == b.ys.shape and a.ys.numpy().tobytes() == b.ys.numpy().tobytes()
            and torch.equal(a.mask, b.mask)
            and (a.names, a.time_name, a.time_origin, a.groups, a.source)
            == (b.names, b.time_name, b.time_origin, b.groups, b.source))


@pytest.fixture(params=[1, 2, 1 << 20], ids=lambda n: f"block{n}")
def block_bytes(request, monkeypatch):
    """Run a test with blocks of 1, 2 and the default 1 MiB bytes."""
    monkeypatch.setattr(csv_file, "BLOCK_BYTES", request.param)
    return request.param


# --------------------------------------------------------------------------------------------------
# progress
# --------------------------------------------------------------------------------------------------


def test_progress_reports_increasing_bytes_ending_at_the_file_size(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_file, "BLOCK_BYTES", 16384)
    rows = "".join(f"{k},{k % 7}.25,{'' if k % 11 == 0 else k}\n" for k in range(20_000))
    path = write(tmp_path, "t,a,b\n" + rows)
    size = path.stat().st_size
    calls = []
    series = load_csv(path, progress=lambda done, total: calls.append((done, total)))
    assert series.ys.shape == (20_000, 1, 2)
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert all(total == size for _, total in calls)
    done = [d for d, _ in calls]
    assert all(a < b for a, b in zip(done, done[1:])) and len(calls) >= 5


def test_progress_reaches_the_end_on_a_file_that_fails_after_reading(tmp_path):
    path = write(tmp_path, "t,y\n0,1\n0,2\n")
    calls = []
    with pytest.raises(ValueError, match="duplicate time"):
        load_csv(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, path.stat().st_size) and calls[-1][0] == path.stat().st_size


def test_progress_bar_is_drawn_only_on_a_terminal(tmp_path):
    path = write(tmp_path, "t,y\n0,1\n1,2\n")
    progress, close = csv_progress_bar(path)  # pytest's stderr is not a terminal
    assert progress is None
    close()


def test_progress_bar_draws_on_stderr(tmp_path, capsys):
    path = write(tmp_path, "t,y\n" + "".join(f"{k},1\n" for k in range(100)))
    progress, close = csv_progress_bar(path, enabled=True)
    try:
        series = load_csv(path, progress=progress)
    finally:
        close()
    assert series.n_points == 100
    assert "reading series.csv" in capsys.readouterr().err


def test_progress_must_be_callable(tmp_path):
    path = write(tmp_path, "t,y\n0,1\n1,2\n")
    assert message(path, progress=5) == ("progress=5 is not supported; expected a callable "
                                         "progress(bytes_read, total_bytes) or None.")


# --------------------------------------------------------------------------------------------------
# the same results whatever the block size
# --------------------------------------------------------------------------------------------------


def panel_text(seed: int, iso: bool) -> str:
    """An irregular panel with missing values, blank lines and padding, sorted within groups."""
    rng = random.Random(seed)
    clock = {"p": 0, "q": 0, "r": 0}
    lines = ["when, id ,a,b,note"]
    for _ in range(60):
        g = rng.choice("pqr")
        clock[g] += rng.choice([1, 2, 5])
        t = (f"2024-02-{clock[g] // 24 + 1:02d}T{clock[g] % 24:02d}:00:00Z" if iso
             else f"{clock[g] / 4}")
        a = rng.choice(["", "NA", "nan", " 1.5 ", f"{rng.uniform(-9, 9):.17g}"])
        lines.append(f"{t},{g},{a},{rng.choice(['', '-0.0', '1e-300', '7'])},{rng.random():.3f}")
        if rng.random() < 0.1:
            lines.append(rng.choice(["", "  ", ",,,,"]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("iso", [False, True])
def test_results_do_not_depend_on_the_block_size(tmp_path, monkeypatch, iso):
    path = write(tmp_path, panel_text(3, iso))
    results = []
    for size in (1, 2, 3, 7, 1 << 20):
        monkeypatch.setattr(csv_file, "BLOCK_BYTES", size)
        results.append(load_csv(path, time_column="when", group_column="id"))
    assert sorted(results[0].groups) == ["p", "q", "r"]
    assert results[0].names == ("a", "b", "note")
    assert all(same_series(results[0], other) for other in results[1:])


# --------------------------------------------------------------------------------------------------
# exact numbers
# --------------------------------------------------------------------------------------------------


def test_numbers_are_float_of_the_stripped_cell(tmp_path, block_bytes):
    cells = ["1_0", "\u20035", "\x1c7", "\u0663", "-0.0", "1e-320", "0.1", "  12.5e3 "]
    path = write(tmp_path, "t,y\n" + "".join(f"{k},{c}\n" for k, c in enumerate(cells)))
    series = load_csv(path)
    assert series.ys[:, 0, 0].tolist() == [float(c.strip()) for c in cells]
    assert str(series.ys[4, 0, 0].item()) == "-0.0"


def test_iso_times_are_total_seconds_over_a_day(tmp_path, block_bytes):
    cells = ["1700-01-01T00:00:00.000001", "1969-12-31T23:59:59.999999", "2024-02-29T12:34:56.789",
             "9999-12-31T23:59:59.999999"]
    path = write(tmp_path, "t,y\n" + "".join(f"{c},1\n" for c in cells))
    series = load_csv(path)
    stamps = [datetime.fromisoformat(c) for c in cells]
    assert series.ts.tolist() == [(s - stamps[0]).total_seconds() / 86400.0 for s in stamps]
    assert series.time_origin == cells[0]


def test_iso_times_with_zones_count_from_the_earliest_instant(tmp_path, block_bytes):
    # 01:00Z twice (the first one written is the origin), 03:00Z, 02:00Z
    cells = ["2024-01-01T03:00:00+02:00", "2024-01-01T05:00:00+02:00", "2024-01-01T01:00:00Z",
             "2023-12-31T23:00:00-03:00"]
    path = write(tmp_path, "t,g,y\n" + "".join(f"{c},{g},1\n" for c, g in zip(cells, "aabb")))
    series = load_csv(path, group_column="g")
    stamps = [datetime.fromisoformat(c.replace("Z", "+00:00")) for c in cells]
    assert stamps[0] == stamps[2] == min(stamps)
    assert stamps[0].astimezone(timezone.utc).hour == 1
    assert series.time_origin == cells[0]
    assert series.ts.tolist() == sorted({(s - stamps[0]).total_seconds() / 86400.0
                                         for s in stamps})
    assert series.ts.tolist() == [0.0, 1 / 24, 2 / 24]


@pytest.mark.parametrize("first, second", [("0", "-0"), ("-0", "0")])
def test_grid_keeps_the_sign_of_the_first_zero(tmp_path, block_bytes, first, second):
    path = write(tmp_path, f"t,g,y\n{first},a,1\n{second},b,2\n1,a,3\n1,b,4\n")
    ts = load_csv(path, group_column="g").ts
    assert ts.tolist() == [0.0, 1.0] and str(ts[0].item()) == str(float(first))


# --------------------------------------------------------------------------------------------------
# which error wins
# --------------------------------------------------------------------------------------------------

HEADER_TWO = "columns ('t', 'y')"
PRECEDENCE = {
    # name: (file, keyword arguments, the message after the path)
    "reading_error_after_a_bad_header": (
        b"t,,y\n0,1,2\n1,2,3\n\xff\n", {},
        "is not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 17: invalid start "
        "byte)."),
    "reading_error_after_a_ragged_row": (
        b"t,y\n0,1\n1,2,3\n2,3\n\xff\n", {},
        "is not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 18: invalid start "
        "byte)."),
    "reading_error_after_an_unknown_column": (
        b"t,y\n0,1\n1,2\n\xff\n", {"time_column": "x"},
        "is not UTF-8 text ('utf-8' codec can't decode byte 0xff in position 12: invalid start "
        "byte)."),
    "unknown_column_before_ragged_row": (
        "t,y\n0,1\n1,2,3\n", {"group_column": "g"},
        "group_column='g', but column 'g' is not in the header; available columns: 't', 'y'."),
    "ragged_row_after_a_missing_time": (
        "t,y\n0,1\n,2\n2,3\n3\n", {}, f"row 5 has 1 cells but the header has 2 {HEADER_TWO}."),
    "missing_time_after_a_bad_time": (
        "t,y\n0,1\nsoon,2\n2,3\n,4\n", {},
        "row 5: missing time in column 't' (cell ''); every row needs a time."),
    "bad_time_after_disorder": (
        "t,y\n0,1\n5,2\n3,3\nsoon,4\n", {},
        "row 5: time 'soon' in column 't' is not a number (the first time, row 2, is a number, "
        "so all must be)."),
    "bad_date_before_mixed_zones": (
        "t,y\n2024-01-01,1\n2024-01-02T00:00:00Z,2\n2024-02-30,3\n", {},
        "row 4: time '2024-02-30' in column 't' is neither a number nor an ISO date/datetime "
        "(e.g. 2024-01-31 or 2024-01-31T12:00:00)."),
    "mixed_zones_before_disorder": (
        "t,y\n2024-01-02,1\n2024-01-01,2\n2024-01-03T00:00:00Z,3\n", {},
        "column 't' mixes dates with and without a time zone; use one kind throughout."),
    "missing_label_before_later_disorder": (
        "t,g,y\n0,a,1\n1,,2\n0,a,3\n", {"group_column": "g"},
        "row 3: missing group label in column 'g'."),
    "disorder_before_later_missing_label": (
        "t,g,y\n1,a,1\n0,a,2\n5,,3\n", {"group_column": "g"},
        "row 3: time '0' comes before '1' (row 2) in group 'a'; times must be strictly "
        "increasing within each series (sort the rows by time)."),
    "first_disorder_in_file_order": (
        "t,g,y\n1,a,1\n1,b,1\n2,b,2\n2,b,3\n0,a,3\n", {"group_column": "g"},
        "row 5: duplicate time '2' in group 'b' (already at row 4); times must be strictly "
        "increasing within each series."),
    "disorder_before_short_group": (
        "t,g,y\n1,a,1\n0,b,1\n2,a,2\n2,a,3\n", {"group_column": "g"},
        "row 5: duplicate time '2' in group 'a' (already at row 4); times must be strictly "
        "increasing within each series."),
    "short_group_before_bad_columns": (
        "t,g,y\n1,a,1\n0,b,1\n2,a,2\n", {"group_column": "g", "columns": ["x"]},
        "group 'b' has 1 time point; a series needs at least 2 time points."),
    "bad_columns_before_bad_values": (
        "t,y\n0,abc\n1,2\n", {"columns": ["y", "y"]},
        "columns=['y', 'y'] repeats a column name; names must be distinct."),
    "columns_in_the_order_given": (
        "t,y,z\n0,1,abc\n1,inf,2\n", {"columns": ["y", "z"]},
        "row 3, column 'y': value 'inf' is not finite; use an empty cell for a missing value."),
    "columns_in_the_order_given_reversed": (
        "t,y,z\n0,1,abc\n1,inf,2\n", {"columns": ["z", "y"]},
        "row 2, column 'z': value 'abc' is not a number (a missing value may be empty or one of "
        "('nan', 'na', 'n/a', 'null'))."),
    "first_bad_value_of_a_column": (
        "t,y\n0,1\n1,-inf\n2,abc\n", {"columns": ["y"]},
        "row 3, column 'y': value '-inf' is not finite; use an empty cell for a missing value."),
    "bad_value_before_an_empty_column": (
        "t,y,z\n0,,1\n1,NA,1e999\n", {"columns": ["z", "y"]},
        "row 3, column 'z': value '1e999' is not finite; use an empty cell for a missing value."),
    "default_columns_skip_text_even_after_inf": (
        "t,y,z\n0,inf,\n1,x,NA\n", {},
        "no numeric value column; non-numeric or empty columns: 'y' (row 3 has 'x'), 'z' (no "
        "values). Name the value columns with columns=."),
    "lines_count_quoted_newlines": (
        't,y\n0,"1\n"\n\n1,abc\n', {"columns": ["y"]},
        "row 5, column 'y': value 'abc' is not a number (a missing value may be empty or one of "
        "('nan', 'na', 'n/a', 'null'))."),
}


@pytest.mark.parametrize("case", sorted(PRECEDENCE))
def test_the_first_problem_in_the_order_of_the_rules_wins(tmp_path, block_bytes, case):
    content, kwargs, expected = PRECEDENCE[case]
    assert message(write(tmp_path, content), **kwargs) == expected
