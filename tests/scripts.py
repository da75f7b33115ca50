"""Loading the repository's benchmark and experiment scripts, which are not a package, in tests."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """The script at ``relative`` (to the repository root) imported as a fresh module.

    It is registered in ``sys.modules`` while it executes, as dataclasses look their module up.
    """
    path = ROOT / relative
    name = "script_" + "_".join(Path(relative).with_suffix("").parts)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
