"""The model being served, and how it is (re)loaded and swapped.

A :class:`LoadedModel` is immutable: the bundle, its Scorer, its version and everything the
routes derive from it (the generated request model, the /v1/model payload). The
:class:`ModelManager` holds exactly one reference to the current one; a reload builds a new
LoadedModel completely (load, check, test-score) and then replaces that reference in one
assignment. A request reads the reference once, at its start, so it finishes on the model
it began with, and a bundle that fails any check never replaces a working one.

The registry (``creditscore.registry``, which brings MLflow) is imported only when a registry
alias is served; a bundle folder is served without it.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from creditscore.bundle import MANIFEST, ModelBundle
from creditscore.compiled import probe_application
from creditscore.exceptions import (
    BundleError,
    BundleNotFoundError,
    CreditScoreError,
    RegistryUnavailableError,
)
from creditscore.formatting import jsonable
from creditscore.scorer import Scorer
from creditscore.serving.schemas import application_model

log = logging.getLogger("creditscore.serving.loader")


def default_model_name() -> str:
    """The name ``creditscore train`` registers when run with the bundled config."""
    from creditscore.config import german_config

    return german_config().name


def _registry() -> Any:
    try:
        from creditscore import registry
    except ImportError as exc:
        raise RegistryUnavailableError(
            f"the model registry is not available in this installation ({exc}); "
            "serve a bundle folder instead: creditscore serve --model PATH"
        ) from None
    return registry


@dataclass(frozen=True, slots=True)
class LoadedModel:
    bundle: ModelBundle
    scorer: Scorer
    version: str
    source: str
    alias: str | None
    run_id: str | None
    loaded_at: str
    application_model: type[BaseModel]
    field_names: tuple[tuple[str, str], ...]
    private_fields: frozenset[str]
    info: dict[str, Any] = field(repr=False)

    @property
    def from_registry(self) -> bool:
        return self.source.startswith("registry:")


def build_loaded(
    bundle: ModelBundle,
    version: str,
    source: str,
    *,
    alias: str | None = None,
    run_id: str | None = None,
    pii_fields: tuple[str, ...] = (),
) -> LoadedModel:
    """Check a bundle, build everything derived from it, and test-score one application."""
    if not bundle.schema.fields:
        raise BundleError(f"{source}: the bundle's input schema has no fields")
    meta = bundle.metadata
    private = {*map(str, meta.get("sensitive") or ()), *pii_fields}
    if meta.get("id_column"):
        private.add(str(meta["id_column"]))
    others = sorted(private - set(bundle.schema.names))
    try:
        model, names = application_model(bundle.schema, others)
    except Exception as exc:
        raise BundleError(
            f"{source}: cannot build the request model from its schema: {exc}"
        ) from exc
    scorer = Scorer(bundle, model_version=version)
    try:
        probe = scorer.decide(probe_application(bundle.schema))
        p = probe.probability_of_default
        if not (isinstance(p, float) and math.isfinite(p) and 0.0 <= p <= 1.0):
            raise ValueError(f"probability of default {p!r} outside [0, 1]")
    except Exception as exc:
        raise BundleError(
            f"{source}: the model failed to score a test application ({type(exc).__name__}: "
            f"{exc}); it was not loaded"
        ) from exc
    loaded_at = datetime.now(UTC).isoformat()
    policy = bundle.policy
    summary = policy.summary()
    info = jsonable(
        {
            "name": bundle.name,
            "version": version,
            "aliases": [alias] if alias else [],
            "source": source,
            "run_id": run_id,
            "trained_at": meta.get("trained_at"),
            "loaded_at": loaded_at,
            "candidate": meta.get("candidate"),
            "metrics": bundle.metrics,
            "threshold": policy.threshold,
            "refer_margin": policy.refer_margin,
            "policy_version": policy.version,
            "bands": [
                {"name": b["name"], "max_pd": b["pd_to"], "min_points": b["min_points"]}
                for b in summary["bands"]
            ],
            "scaling": {k: summary["scaling"][k] for k in ("base_points", "base_odds", "pdo")},
            "schema": bundle.schema.to_dict()["fields"],
            "not_model_inputs": others,
        }
    )
    return LoadedModel(
        bundle=bundle,
        scorer=scorer,
        version=version,
        source=source,
        alias=alias,
        run_id=run_id,
        loaded_at=loaded_at,
        application_model=model,
        field_names=names,
        private_fields=frozenset(private),
        info=info,
    )


def bundle_folder(path: str | Path) -> Path:
    """The bundle folder ``path`` names, or :class:`BundleNotFoundError` saying why not
    (no such folder, no bundle in it, or a path the system cannot even look up)."""
    shown = str(path) if len(str(path)) <= 200 else str(path)[:197] + "..."
    try:
        folder = Path(path).expanduser().resolve()
        found = (folder / MANIFEST).is_file()
        exists = found or folder.exists()
    except (OSError, ValueError, RuntimeError) as exc:  # too long, a NUL byte, ~nosuchuser
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BundleNotFoundError(f"no model bundle at {shown!r}: {reason}") from None
    if not found:
        what = "no such folder" if not exists else f"no {MANIFEST} in it"
        raise BundleNotFoundError(
            f"no model bundle at {folder} ({what}); give the folder `creditscore train` wrote, "
            "e.g. artifacts/bundles/<name>-<time>"
        )
    return folder


def load_path(path: str | Path, pii_fields: tuple[str, ...] = ()) -> LoadedModel:
    folder = bundle_folder(path)
    bundle = ModelBundle.load(folder)
    version = str(bundle.metadata.get("version") or folder.name)
    return build_loaded(bundle, version, f"path:{folder}", pii_fields=pii_fields)


def load_alias(
    name: str, alias: str, tracking_uri: str | None, pii_fields: tuple[str, ...] = ()
) -> LoadedModel:
    registry = _registry()
    try:
        got = registry.load_bundle(name, alias=alias, tracking_uri=tracking_uri)
    except Exception as exc:
        if isinstance(exc, CreditScoreError) and not isinstance(exc, RegistryUnavailableError):
            raise  # a missing alias, a refused bundle: the registry answered
        raise RegistryUnavailableError(
            f"could not load {name}@{alias} from the registry: {type(exc).__name__}: {exc}"
        ) from exc
    return build_loaded(
        got.bundle,
        str(got.version),
        f"registry:{name}@{alias}",
        alias=alias,
        run_id=got.run_id,
        pii_fields=pii_fields,
    )


@dataclass
class RegistryStatus:
    status: str = "not_used"  # not_used | ok | unreachable
    error: str | None = None
    checked_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error, "checked_at": self.checked_at}


def freeze_heap() -> None:
    """Collect the garbage there is, then move every object alive (the model, the app, the
    libraries: a few hundred thousand) out of the garbage collector's generations. They
    live as long as the process, and a full collection that walks them all stops the
    service for about 100 ms, a pause some request would wait for. A model swapped out is
    still freed by reference counting once its last request ends; anything of it held in
    reference cycles is collected at the next swap, which unfreezes first. Done once per
    swap, by the served process only."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class ModelManager:
    """Holds the current LoadedModel; reloads and swaps it atomically."""

    def __init__(
        self,
        *,
        model_name: str,
        alias: str,
        tracking_uri: str | None,
        model_path: Path | None,
        pii_fields: tuple[str, ...] = (),
        on_swap: Callable[[LoadedModel], None] | None = None,
    ) -> None:
        self.model_name = model_name
        self.alias = alias
        self.tracking_uri = tracking_uri
        self.model_path = model_path
        self.pii_fields = pii_fields
        self.on_swap = on_swap
        #: Freeze the heap after each swap (the served process; see :meth:`set`).
        self.freezes_heap = False
        self.current: LoadedModel | None = None
        self.registry = RegistryStatus()
        self.last_error: str | None = None
        self._lock = threading.Lock()

    def _now(self) -> str:
        return datetime.now(UTC).isoformat()

    def set(self, loaded: LoadedModel) -> LoadedModel | None:
        previous, self.current = self.current, loaded  # the one atomic swap
        if self.on_swap is not None:
            self.on_swap(loaded)
        if previous is not None and previous.version != loaded.version:
            log.warning("now serving %s (was %s)", loaded.version, previous.version)
        if self.freezes_heap:
            freeze_heap()
        return previous

    def load(self, model_path: str | Path | None = None, alias: str | None = None) -> LoadedModel:
        """Load (without swapping) from a path, an alias, or else the current source: the
        same folder or alias again; for a model given in memory, the configured source."""
        current = self.current
        if model_path is None and alias is None and current is not None:
            if current.source.startswith("path:"):
                model_path = current.source.removeprefix("path:")
            elif current.from_registry:
                alias = current.alias
        if model_path is None and alias is None and self.model_path is not None:
            model_path = self.model_path
        if model_path is not None:
            return load_path(model_path, self.pii_fields)
        use_alias = alias or self.alias
        try:
            loaded = load_alias(self.model_name, use_alias, self.tracking_uri, self.pii_fields)
        except RegistryUnavailableError as exc:
            self.registry = RegistryStatus("unreachable", str(exc), self._now())
            raise
        self.registry = RegistryStatus("ok", None, self._now())
        return loaded

    def reload(
        self, model_path: str | Path | None = None, alias: str | None = None
    ) -> tuple[LoadedModel | None, LoadedModel]:
        """Load and swap; on any error the current model stays and the error is raised."""
        with self._lock:
            try:
                loaded = self.load(model_path, alias)
            except CreditScoreError as exc:
                self.last_error = str(exc)
                raise
            self.last_error = None
            return self.set(loaded), loaded

    def poll(self) -> bool:
        """If serving a registry alias that moved, load the new version. True if swapped."""
        current = self.current
        if current is None or not current.from_registry or current.alias is None:
            return False
        try:
            registry = _registry()
            version = registry.alias_version(
                self.model_name, current.alias, tracking_uri=self.tracking_uri
            )
        except Exception as exc:
            answered = isinstance(exc, CreditScoreError) and not isinstance(
                exc, RegistryUnavailableError
            )
            state = "error" if answered else "unreachable"
            self.registry = RegistryStatus(state, f"{type(exc).__name__}: {exc}", self._now())
            log.warning("registry %s, still serving %s: %s", state, current.version, exc)
            return False
        self.registry = RegistryStatus("ok", None, self._now())
        if version is None or str(version) == current.version:
            return False
        try:
            self.reload(alias=current.alias)
        except CreditScoreError as exc:
            log.error("alias %s moved to %s but it was refused: %s", current.alias, version, exc)
            return False
        return True

    def poll_forever(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                self.poll()
            except Exception:  # never let the poller die
                log.exception("model poller: unexpected error")
