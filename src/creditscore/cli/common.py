"""What several commands share: options, loading a bundle or an application, printing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from creditscore.cli.app import console, err_console


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if value != value else f"{value:.{digits}f}"
    return str(value)


#: The project file every command looks for in the current folder.
PROJECT_FILE = "creditscore.yaml"

NameOption = Annotated[
    str | None,
    typer.Option(
        "--name",
        "-n",
        help="registered model name (default: CREDITSCORE_MODEL_NAME, else the `name` in the "
        "project's creditscore.yaml, else the German demo's)",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="project YAML (default: ./creditscore.yaml when it exists, else the bundled "
        "German demo)",
    ),
]

_announced: set[Path] = set()


def discover_config(config: Path | None) -> Path | None:
    """The project file a command reads: ``--config``, else ``./creditscore.yaml`` when it
    exists (said once, in one line on stderr), else None (the bundled German demo)."""
    if config is not None:
        return config
    here = Path.cwd() / PROJECT_FILE
    if not here.is_file():
        return None
    if here not in _announced:
        _announced.add(here)
        err_console.print(f"[dim]Using ./{PROJECT_FILE} (pass --config to read another).[/dim]")
    return here


def model_name(name: str | None, config: Path | None) -> str:
    """``--name``, else ``CREDITSCORE_MODEL_NAME``, else the project's ``name``."""
    from creditscore.settings import get_settings

    if name:
        return name
    if get_settings().model_name:
        return str(get_settings().model_name)
    return str(project_config(config).name)


ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="a bundle folder, models:/NAME/VERSION or models:/NAME@ALIAS (default: the "
        "registry's champion of --name)",
    ),
]


def load_bundle(
    version: str | None, model: str | Path | None, name: str | None, config: Path | None
) -> tuple[Any, str]:
    """(bundle, version label): ``--model`` (a bundle folder or a registry URI, read by
    :mod:`creditscore.model_ref` as ``score --model`` is), else ``--version`` of the
    registered model, else its champion."""
    from creditscore.exceptions import ConfigError
    from creditscore.model_ref import parse_model_ref, resolve

    if model is not None and version is not None:
        raise ConfigError(
            f"give --model or --version, not both (--model {str(model)!r} --version "
            f"{version!r}); a registered version is --model models:/NAME/VERSION"
        )
    if model is not None:
        ref = parse_model_ref(model)
        got = resolve(ref)
        if not ref.registered:
            return got.bundle, f"bundle {model}"
        return got.bundle, f"v{got.version}" + (f" ({ref.alias})" if ref.alias else "")
    from creditscore import registry

    loaded = registry.load_bundle(model_name(name, config), version=version)
    return loaded.bundle, f"v{loaded.version}" + (f" ({loaded.alias})" if loaded.alias else "")


def project_config(config: Path | None) -> Any:
    """The project configuration: ``--config``, ``./creditscore.yaml`` or the German demo's."""
    from creditscore.config import ProjectConfig, german_config

    path = discover_config(config)
    if path is not None:
        return ProjectConfig.from_yaml(path)
    cfg = german_config()
    cfg.base_dir = Path.cwd()
    return cfg


def plain(value: Any) -> str:
    """``value`` as text that rich prints as it is: a column called ``income [eur]`` or a
    reason ``[urgent] ...`` is data, never a style tag (which would vanish, or stop the
    command on a stray ``[/b]``)."""
    return escape(str(value))


def print_path(label: str, path: Any, style: str = "bold") -> None:
    """``label path`` on one line that rich never breaks inside the path (the terminal
    wraps it, so it stays one path to copy)."""
    console.print(f"{label} [{style}]{plain(path)}[/{style}]", soft_wrap=True)


def read_application(source: str | None, row: int | None, config: Path | None) -> dict[str, Any]:
    """One application: a JSON file, '-' for standard input, or row N of the project data."""
    import json

    from creditscore.exceptions import ConfigError

    if (source is None) == (row is None):
        raise ConfigError("give an application as a JSON file (or - for stdin), or --row N")
    if row is not None:
        from creditscore.data.ingest import load_raw

        cfg = project_config(config)
        frame = load_raw(cfg)
        if not 0 <= row < len(frame):
            raise ConfigError(f"--row {row}: the data has rows 0 to {len(frame) - 1}")
        record = frame.iloc[row].to_dict()
        return {k: (None if v != v else v) for k, v in record.items()}  # NaN -> None
    assert source is not None
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: expected one JSON object (field -> value)")
    return value


ApplicationArg = Annotated[
    str | None, typer.Argument(help="application as a JSON object in a file, or - for stdin")
]
RowOption = Annotated[
    int | None, typer.Option("--row", help="use row N (from 0) of the project's data instead")
]
VersionOption = Annotated[
    str | None, typer.Option("--version", "-v", help="registered version (default: champion)")
]


def value_text(value: Any) -> str:
    """An applicant's value as they wrote it: 48, not 48.000."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return fmt(value, 4) if isinstance(value, float) else fmt(value)


def print_decision(d: Any, label: str) -> None:
    colour = {"approve": "green", "refer": "yellow", "decline": "red"}.get(d.decision, "white")
    console.print(
        f"[bold {colour}]{d.decision.upper()}[/bold {colour}]  PD {d.probability_of_default:.3f}"
        f"  score {d.score}  band {plain(d.risk_band)}  ({plain(d.model_name)} {plain(label)})"
    )
