"""What the benchmark scripts share: where the data are, and Taiwan's project config."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console

from creditscore.config import ProjectConfig
from creditscore.init import infer_config, render_yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def taiwan_config(tmp: Path, console: Console) -> ProjectConfig | None:
    """``creditscore init`` on ``../shared/data/taiwan_credit_card.csv``, or None (with a
    note) where the file is absent."""
    path = SHARED / "taiwan_credit_card.csv"
    if not path.is_file():
        console.print(f"[yellow]skip taiwan: {path} not found[/yellow]")
        return None
    df = pd.read_csv(path)
    inference = infer_config(
        df, "default.payment.next.month", None, data_path=str(path), name="taiwan"
    )
    tmp.mkdir(parents=True, exist_ok=True)
    cfg_path = tmp / "taiwan.yaml"
    cfg_path.write_text(render_yaml(inference))
    return ProjectConfig.from_yaml(cfg_path)
