"""What the serving process imports, checked in a fresh interpreter (a subprocess), since
this test session has long imported everything."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def modules_after(code: str, watched: list[str], tmp_path: Path) -> list[str]:
    """Which of ``watched`` (modules or packages) are in ``sys.modules`` after running
    ``code`` in a new interpreter with this tree first on the path."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json as _json, sys as _sys
        _watched = {watched!r}
        _hits = sorted(
            w for w in _watched
            if any(m == w or m.startswith(w + ".") for m in _sys.modules)
        )
        print("MODULES=" + _json.dumps(_hits))
        """
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        "PYTHONWARNINGS": "ignore",
        "CREDITSCORE_CACHE": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    line = [x for x in done.stdout.splitlines() if x.startswith("MODULES=")][-1]
    return list(json.loads(line.removeprefix("MODULES=")))


def test_importing_the_registry_loads_no_scoring_code(tmp_path: Path) -> None:
    hits = modules_after(
        "import creditscore.registry",
        ["creditscore.scorer", "creditscore.compiled", "numba", "creditscore.training"],
        tmp_path,
    )
    assert hits == []
