"""The README teaches what runs, states no number without the command behind it, and the docs
site (API reference generated from the docstrings) builds without warnings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# A measured number: a decimal (0.46, 12.4×) or an integer with a unit of time or size (27 s,
# 17 min, 443 MiB). Integers alone are counts and settings (500 iterations, 64 windows).
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*\.\d+(?![\w.])"
                    r"|(?<![\w.])\d[\d,]*(?:\.\d+)?\s?(?:ms|s|sec|seconds|min|minutes|h|hours"
                    r"|KB|MB|GB|KiB|MiB|GiB)\b")
# Mathematical facts, not measurements: no command measures them.
NOT_MEASURED = re.compile(r"order 1\.5")
INLINE_CODE = re.compile(r"`[^`]*`")
COMMAND = re.compile(r"`python [^`]+`")


# ----------------------------------------------------------------------------- helpers

def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _blocks(text: str) -> list[list[str]]:
    """The README outside fenced code, as blocks of lines: a paragraph (or list item run, or
    heading) ends at a blank line; a table is its run of ``|`` lines."""
    blocks: list[list[str]] = []
    current: list[str] = []
    in_code = False

    def close():
        nonlocal current
        if current:
            blocks.append(current)
        current = []

    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            close()
            in_code = not in_code
            continue
        if in_code:
            continue
        if not line.strip():
            close()
            continue
        is_table = line.lstrip().startswith("|")
        if current and is_table != current[-1].lstrip().startswith("|"):
            close()
        current.append(line)
    close()
    return blocks


def _numbers(line: str) -> list[str]:
    """The measured numbers of a line of prose (inline code and mathematical facts left out)."""
    prose = NOT_MEASURED.sub(" ", INLINE_CODE.sub(" ", line))
    return NUMBER.findall(prose)


def _unbacked_numbers(text: str) -> list[str]:
    """Lines stating a number whose block, or for a table the block just before or after it,
    holds no ``python ...`` command in backticks."""
    blocks = _blocks(text)
    bad = []
    for i, block in enumerate(blocks):
        near = list(block)
        if block[0].lstrip().startswith("|"):
            for j in (i - 1, i + 1):
                if 0 <= j < len(blocks):
                    near += blocks[j]
        has_command = any(COMMAND.search(line) for line in near)
        for line in block:
            if _numbers(line) and not has_command:
                bad.append(line)
    return bad


# ----------------------------------------------------------------------------- tests

def test_the_readme_quick_start_returns_quantile_columns(monkeypatch):
    pd = pytest.importorskip("pandas")
    code = _python_blocks(README.read_text())[0]
    assert "ns.Forecaster(" in code and "predict(" in code
    # A short fit, with every argument the README passes.
    code = code.replace("ns.Forecaster(", "ns.Forecaster(iters=5, windows=8, ", 1)
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    forecast = namespace["forecast"]
    h = int(re.search(r"predict\(h=(\d+)", code).group(1))
    assert isinstance(forecast, pd.DataFrame)
    assert {"ds", "mean", "median", "lo-50", "hi-50", "lo-90", "hi-90"} <= set(forecast.columns)
    assert len(forecast) == h
    assert all(isinstance(t, pd.Timestamp) for t in forecast["ds"])
    assert forecast["ds"].is_monotonic_increasing
    assert (forecast["lo-90"] <= forecast["median"]).all()
    assert (forecast["median"] <= forecast["hi-90"]).all()


@pytest.mark.slow
def test_the_docs_build_without_warnings(tmp_path):
    for module in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python", "material"):
        pytest.importorskip(module)
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(site)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    api = site / "api" / "index.html"
    assert api.is_file()
    page = api.read_text()
    assert "Forecaster.predict" in page and "neuralsde.runs.load_run" in page


def test_every_readme_number_has_a_command():
    assert _unbacked_numbers(README.read_text()) == []


def test_the_number_check_catches_a_bare_number():
    bare = "# Title\n\nOur forecasts score 0.46 on co2.\n\nA fit takes 27 s.\n"
    assert _unbacked_numbers(bare) == ["Our forecasts score 0.46 on co2.", "A fit takes 27 s."]
    backed = ("`python benchmarks/real_series.py` printed:\n\n| series | CRPS |\n|---|---:|\n"
              "| co2 | 0.46 |\n\nStrong order 1.5 needs commutative noise; `--rtol 0.1`.\n")
    assert _unbacked_numbers(backed) == []
