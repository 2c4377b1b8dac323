"""Registry commands: ``models``, ``promote``, ``rollback``, ``report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditscore.cli.app import app, console
from creditscore.cli.common import ConfigOption, NameOption, fmt, model_name, plain, print_path


@app.command()
def models(name: NameOption = None, config: ConfigOption = None) -> None:
    """List the registered versions: aliases, key test metrics, gate, who promoted and why."""
    from creditscore import registry

    model = model_name(name, config)
    narrow = console.width < 110
    table = Table(title=f"Versions of {plain(model)}", expand=not narrow)
    table.add_column("v", no_wrap=True, justify="right")
    table.add_column("aliases", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("model", overflow="fold", min_width=6)
    table.add_column("AUC", no_wrap=True, justify="right")
    if not narrow:
        table.add_column("Brier", no_wrap=True, justify="right")
    table.add_column("gate", overflow="fold", min_width=4)
    if not narrow:
        table.add_column("by", overflow="fold")
    table.add_column("why", overflow="fold", ratio=2, min_width=12)
    for r in reversed(registry.list_versions(model)):
        cells = [
            r.version,
            ", ".join(r.aliases) or "-",
            f"{r.created:%Y-%m-%d}" if narrow else f"{r.created:%Y-%m-%d %H:%M}",
            r.candidate or "-",
            fmt(r.test_auc, 3),
            *([] if narrow else [fmt(r.test_brier, 4)]),
            r.gate or "-",
            *([] if narrow else [r.promoted_by or "-"]),
            r.promotion_reason or r.gate_reason or "-",
        ]
        table.add_row(*(plain(c) for c in cells))
    table.caption = "AUC: test ROC-AUC" + ("; wider terminals show Brier and who" if narrow else "")
    console.print(table)


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="version number to make champion")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (stored with the version)")],
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Make VERSION the champion by hand, recording who and why (CREDITSCORE_USER or login)."""
    from creditscore import registry

    o = registry.promote(model_name(name, config), version, reason)
    console.print(
        plain(f"{o.name} v{o.version} is champion (was v{o.previous_champion or '-'}), by {o.user}")
    )


@app.command()
def rollback(
    reason: Annotated[str, typer.Option("--reason", "-r", help="why (stored with the version)")],
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Give the champion alias back to the previous champion, recording who and why."""
    from creditscore import registry

    version = registry.rollback(model_name(name, config), reason)
    console.print(f"champion is back to v{version}")


@app.command()
def report(
    version: Annotated[str, typer.Argument(help="registered version")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the HTML and Markdown")
    ] = Path("model_card"),
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the model card of a registered version again (HTML and Markdown)."""
    from creditscore import registry

    paths = registry.render_model_card_for_version(model_name(name, config), version, out)
    print_path("Model card:", paths["html"])
    print_path("Markdown:  ", paths["markdown"], "dim")
