"""The README's Python example runs as written and does what its comments say."""

import re
from pathlib import Path

import matplotlib.image
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_example() -> str:
    text = README.read_text()
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_python_example(), "README.md", "exec"), namespace)
    paths, series = namespace["paths"], namespace["series"]
    assert paths.shape == (100, 7, 3)
    # Data units: every path starts at the first observation.
    torch.testing.assert_close(paths[:, 0, 0], series.ys[0, 0, 0].expand(100).to(paths.dtype))
    losses = [row["loss"] for row in namespace["result"].history]
    assert len(losses) == 100 and sum(losses[-10:]) < sum(losses[:10])
    image = matplotlib.image.imread(tmp_path / "my_fit.png")
    assert image.shape[0] > 300 and image.shape[1] > 500
