"""``explain``, ``whatif`` and ``fairness``: why a decision, what would change it, and
group fairness of a model's decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from creditscore.cli.app import app, console
from creditscore.cli.common import (
    ApplicationArg,
    ConfigOption,
    ModelOption,
    NameOption,
    RowOption,
    VersionOption,
    fmt,
    load_bundle,
    plain,
    print_decision,
    print_path,
    project_config,
    read_application,
    value_text,
)


@app.command()
def explain(
    application: ApplicationArg = None,
    row: RowOption = None,
    version: VersionOption = None,
    model: ModelOption = None,
    top: Annotated[int, typer.Option(help="contributions to list")] = 10,
    lime: Annotated[bool, typer.Option("--lime", help="also fit LIME's local surrogate")] = False,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Why one application scored as it did: its decision, reason codes and contributions.

    Every feature's contribution to the log-odds of bad (positive: towards bad); protected
    attributes are shown but never reasons.

    Example: creditscore explain --row 3   (row 3 of the bundled German data, champion model)
    """
    from creditscore.reasons import BASE_VALUE
    from creditscore.scorer import MAX_REASONS, Scorer

    bundle, label = load_bundle(version, model, name, config)
    values = read_application(application, row, config)
    scorer = Scorer(bundle, model_version=label)
    decision = scorer.decide(values, explain=True)
    print_decision(decision, label)
    if scorer.explainer is None:
        raise typer.Exit(0)
    ex = scorer.explainer
    contribs = ex.explain_one(scorer.validate(values))
    table = Table(title=f"Reason codes (up to {MAX_REASONS}; method: {ex.method})")
    table.add_column("code", overflow="fold")
    table.add_column("reason")
    table.add_column("contribution", justify="right")
    for r in decision.reasons:
        table.add_row(plain(r.code), plain(r.text), f"{r.contribution:+.3f}")
    console.print(table)
    items = sorted(
        ((f, c) for f, c in contribs.items() if f != BASE_VALUE), key=lambda fc: -abs(fc[1])
    )
    table = Table(title=f"Contributions (base log-odds {contribs[BASE_VALUE]:+.3f})")
    for col in ("feature", "value", "contribution", ""):
        table.add_column(col)
    for f, c in items[:top]:
        note = "protected: never a reason" if f in ex.sensitive else ""
        table.add_row(plain(f), plain(value_text(values.get(f))), f"{c:+.3f}", note)
    console.print(table)
    if lime:
        from creditscore.data.ingest import load_raw
        from creditscore.explain.global_ import lime_explanation

        background = load_raw(project_config(config))
        out = lime_explanation(bundle, scorer.validate(values), background)
        table = Table(
            title=f"LIME (surrogate PD {out['local_probability_of_default']:.3f}, "
            f"R^2 {out['r2']:.2f})"
        )
        for col in ("condition", "weight on PD"):
            table.add_column(col)
        for w in out["weights"]:
            table.add_row(plain(w["condition"]), f"{w['weight']:+.4f}")
        console.print(table)


@app.command()
def whatif(
    application: ApplicationArg = None,
    row: RowOption = None,
    version: VersionOption = None,
    model: ModelOption = None,
    options: Annotated[int, typer.Option(help="most options to show")] = 5,
    max_changes: Annotated[int, typer.Option(min=1, max=2, help="features changed at once")] = 2,
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """What would change the decision: the cheapest changes that would get it approved.

    Only actionable features change (the config's `actionable` list; never protected
    attributes, nor the `immutable` ones: the past, time-based facts, characteristics such
    as age); each option was re-scored by the model. With none, it says why.

    Example: creditscore whatif --row 1
    """
    from creditscore.explain.counterfactual import search_counterfactuals
    from creditscore.scorer import Scorer

    bundle, label = load_bundle(version, model, name, config)
    values = read_application(application, row, config)
    scorer = Scorer(bundle, model_version=label, reasons=False)
    decision = scorer.decide(values)
    print_decision(decision, label)
    found = search_counterfactuals(scorer, values, max_changes=max_changes, max_options=options)
    if not found.options:
        colour = "green" if found.decision == "approve" else "yellow"
        why = plain((found.why or "no option found").capitalize())
        console.print(f"[{colour}]{why}.[/{colour}]")
        return
    table = Table(title="Changes that would get this application approved (cheapest first)")
    table.add_column("changes", overflow="fold", ratio=3)
    for col in ("new PD", "score", "cost"):
        table.add_column(col, justify="right", no_wrap=True)
    for o in found.options:
        changes = "; ".join(
            f"{c.feature}: {value_text(c.current)} -> {value_text(c.proposed)}" for c in o.changes
        )
        table.add_row(
            plain(changes), f"{o.probability_of_default:.3f}", str(o.score), f"{o.cost:.2f}"
        )
    console.print(table)


@app.command()
def fairness(
    version: Annotated[
        str | None, typer.Argument(help="registered version (default: the champion)")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            "-d",
            help="labelled CSV/Parquet with the model inputs, the outcome and the protected "
            "columns (default: the test split of the project's data)",
        ),
    ] = None,
    model: ModelOption = None,
    intersect: Annotated[
        list[str] | None,
        typer.Option("--intersect", help="two group names joined by a comma, e.g. sex,age_group"),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="folder for the report (Markdown, HTML, plots)")
    ] = Path("fairness_report"),
    name: NameOption = None,
    config: ConfigOption = None,
) -> None:
    """Group fairness of a model's decisions at its policy threshold, with the gate.

    Approval rate, TPR, FPR, AUC and mean PD against bad rate per group; demographic
    parity, equal opportunity, equalized odds and the disparate impact ratio (4/5 rule),
    with bootstrap intervals. Exits 1 when a blocking gate fails.
    """
    import json

    from creditscore.exceptions import ConfigError
    from creditscore.explain.fairness import configured_gate, configured_groups, fairness_report
    from creditscore.reporting import html, markdown
    from creditscore.reporting.fairness import fairness_page, fairness_plots

    bundle, label = load_bundle(version, model, name, config)
    meta = bundle.metadata or {}
    settings = meta.get("fairness") or {}
    if data is not None:
        from creditscore.data.ingest import read_table

        frame = read_table(data)
        source = str(data)
    else:
        from creditscore.data.ingest import load_raw, validate
        from creditscore.data.split import split_indices

        cfg = project_config(config)
        ds = validate(load_raw(cfg), cfg)
        idx = split_indices(ds.y, cfg.split, ds.dates).test
        frame = ds.with_sensitive().iloc[idx].reset_index(drop=True)
        if cfg.data.date_column and ds.dates is not None:
            frame[cfg.data.date_column] = ds.dates.iloc[idx].reset_index(drop=True)
        frame[meta.get("target", cfg.data.target)] = ds.y[idx]
        meta = {**meta, "positive": 1, "negative": None}
        source = f"test split of {cfg.data_path or 'the bundled German data'} ({len(idx)} rows)"
        if meta.get("data_hash") and meta["data_hash"] != ds.data_hash:
            console.print("[yellow]The data differ from what this model was trained on.[/yellow]")
    groups = configured_groups(
        settings,
        meta.get("sensitive", []),
        frame,
        date_column=meta.get("date_column"),
        reference_date=str(meta.get("trained_at") or "")[:10] or None,
    )
    pairs = []
    for item in intersect or []:
        parts = [p.strip() for p in item.split(",")]
        if len(parts) != 2:
            raise ConfigError(f"--intersect {item!r}: expected two group names joined by a comma")
        pairs.append((parts[0], parts[1]))
    report = fairness_report(
        bundle,
        frame,
        groups=groups,
        intersections=pairs,
        target=meta.get("target"),
        positive=None,  # the model's bad and good values (meta), both lists
        n_boot=int(settings.get("n_boot", 500)),
        min_group_size=int(settings.get("min_group_size", 20)),
    )
    console.print(plain(f"Fairness of {bundle.name} {label} on {source}"))
    for a in report.attributes:
        title = a.name if a.column == a.name else f"{a.name} ({a.column})"
        table = Table(title=plain(title), caption=plain(a.how) if a.how else None)
        table.add_column("group", overflow="fold")
        for col in ("n", "bad rate", "mean PD", "approval", "TPR", "FPR", "AUC"):
            table.add_column(col, justify="right", no_wrap=True)
        for g in a.groups:
            table.add_row(
                plain(g.group) + (" (small)" if g.small else ""),
                str(g.n),
                *(fmt(v) for v in (g.bad_rate, g.mean_pd, g.approval_rate, g.tpr, g.fpr, g.auc)),
            )
        console.print(table)
        for merged in a.normalised:
            console.print(f"  [dim]merged: {plain(merged)}[/dim]")
        if a.note:
            console.print(f"  [dim]{plain(a.note)}[/dim]")
        for key, d in a.metrics.items():
            console.print(
                plain(
                    f"  {key.replace('_', ' ')}: {fmt(d.value)} [{fmt(d.ci[0])}, {fmt(d.ci[1])}]"
                    f" ({d.groups[0]} vs {d.groups[1]})"
                )
            )
    for skipped in report.skipped:
        console.print(
            f"[yellow]{plain(skipped.name)}: not assessed:[/yellow] {plain(skipped.reason)}"
        )
    gate = configured_gate(report, settings)
    for reason in gate.reasons:
        console.print(f"[yellow]gate ({gate.mode}):[/yellow] {plain(reason)}")
    if not gate.reasons:
        console.print(f"[green]gate ({gate.mode}): no violation[/green]")
    out.mkdir(parents=True, exist_ok=True)
    page = fairness_page(
        report, gate.to_dict(), fairness_plots(report, out), f"Fairness: {bundle.name} {label}"
    )
    (out / "fairness.html").write_text(html.render(page), encoding="utf-8")
    (out / "fairness.md").write_text(markdown.render(page, out / markdown.IMAGES), encoding="utf-8")
    (out / "fairness.json").write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    print_path("Report:", out / "fairness.html")
    console.print("(Markdown, JSON and plots beside it)")
    if not gate.passed:
        raise typer.Exit(1)
