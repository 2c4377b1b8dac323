"""Model registry: versions, the champion/challenger gate, aliases, promotion history.

Every training registers a new version of the registered model named in the config. The
new version becomes ``champion`` only if, scored on the SAME rows (the new training's test
split) as the current champion, its ROC-AUC is not worse by more than ``Gate.auc``, its
Brier score is not worse by more than ``Gate.brier``, and the fairness gate (when one ran)
passed; otherwise it becomes ``challenger`` and the reason is stored on the version. The
first version becomes champion unless the fairness gate failed.

Who acted and why is kept twice: as tags on the version (what ``creditscore models``
shows) and as an append-only history on the registered model, one tag per event
(``promotion.<ms>.<version>``), from which ``rollback`` restores the previous champion.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow.artifacts
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import brier_score_loss, roc_auc_score

from creditscore import tracking
from creditscore.bundle import ModelBundle
from creditscore.exceptions import (
    BundleError,
    CreditScoreError,
    RegistryError,
    RegistryUnavailableError,
)
from creditscore.pyfunc import BUNDLE_ARTIFACT

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from creditscore.training.train import TrainingResult

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "Gate",
    "PromotionOutcome",
    "RegisteredBundle",
    "RegistryError",
    "RegistryUnavailableError",
    "VersionRow",
    "alias_version",
    "cache_root",
    "list_versions",
    "load_bundle",
    "promote",
    "promotion_history",
    "register_and_gate",
    "render_model_card_for_version",
    "rollback",
]

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_PREFIX = "promotion."
_COMPARISON = ("rows", "auc_new", "auc_champion", "brier_new", "brier_champion")
_MAX_REASON = 2000


@dataclass(frozen=True)
class Gate:
    """How much worse than the champion a new version may be and still replace it."""

    auc: float = 0.01
    brier: float = 0.01


@dataclass
class PromotionOutcome:
    name: str
    version: str
    alias: str  # champion | challenger
    promoted: bool
    reason: str
    user: str
    previous_champion: str | None = None
    comparison: dict[str, float] = field(default_factory=dict)  # same-rows AUC / Brier
    card_paths: dict[str, Path] = field(default_factory=dict)

    def message(self) -> str:
        verdict = "is the new champion" if self.promoted else "stays challenger"
        return f"{self.name} version {self.version} {verdict}: {self.reason}"


@dataclass(frozen=True)
class VersionRow:
    version: str
    aliases: list[str]
    created: datetime
    run_id: str | None
    candidate: str | None
    test_auc: float | None
    test_brier: float | None
    gate: str | None  # passed | refused | None
    gate_reason: str | None
    promoted_by: str | None
    promotion_reason: str | None
    promoted_at: str | None


@dataclass(frozen=True)
class RegisteredBundle:
    """A registered version's bundle, downloaded into the local cache and loaded."""

    bundle: ModelBundle
    version: str
    alias: str | None
    run_id: str | None
    path: Path | None = None  # local model folder (cache)


# --------------------------------------------------------------------------- plumbing
def _open(tracking_uri: str | None, *, must_exist: bool = True) -> tuple[str, MlflowClient]:
    uri = tracking._resolve_uri(tracking_uri)
    db = tracking.sqlite_path(uri)
    if must_exist and db is not None and not db.is_file():
        raise RegistryError(
            f"no model registry at {db} (the file does not exist); train a model first with "
            "`creditscore train`, or point CREDITSCORE_TRACKING_URI at your registry"
        )
    return uri, tracking.client(uri)


@contextlib.contextmanager
def _errors(
    uri: str,
    *,
    name: str,
    version: str | None = None,
    alias: str | None = None,
    retries: int = 2,
    timeout: float = 30,
    silence: bool = True,
) -> Iterator[None]:
    """MLflow's failures as our typed errors, with bounded HTTP retries and no noise.

    ``silence=False`` (what a server's threads use) skips redirecting stdout/stderr and
    the warning filters, which are process-wide; only progress bars are switched off.
    """
    quiet = tracking.quiet() if silence else tracking.no_progress_bars()
    try:
        with tracking.http_limits(retries, timeout), quiet:
            yield
    except CreditScoreError:
        raise
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(_missing(name, version, alias)) from None
        if tracking._unreachable(exc):
            raise _unavailable(uri, exc) from exc
        raise RegistryError(
            f"the registry at {uri} refused the request: {tracking._first_line(exc)}"
        ) from exc
    except Exception as exc:
        if tracking._unreachable(exc):
            raise _unavailable(uri, exc) from exc
        raise


def _missing(name: str, version: str | None, alias: str | None) -> str:
    if alias:
        return (
            f"registered model {name!r} has no version with alias {alias!r} (or no such "
            "model); see `creditscore models`"
        )
    if version:
        return f"registered model {name!r} has no version {version}; see `creditscore models`"
    return (
        f"no registered model {name!r}; train one with `creditscore train`, or name the model "
        "to use with --name NAME (or CREDITSCORE_MODEL_NAME); without either, commands use "
        "the `name` of ./creditscore.yaml (or of --config FILE)"
    )


def _unavailable(uri: str, exc: BaseException) -> RegistryUnavailableError:
    return RegistryUnavailableError(
        f"the model registry at {uri} cannot be reached ({tracking._first_line(exc)}); check "
        "that the MLflow server or database is up, or set CREDITSCORE_TRACKING_URI"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _clean_reason(reason: str) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise RegistryError("give a reason (--reason TEXT): it is stored for the validator")
    return text[:_MAX_REASON]


def _require_model(c: MlflowClient, name: str) -> Any:
    try:
        return c.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise RegistryError(_missing(name, None, None)) from None
        raise


def _alias(c: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return c.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def _record(c: MlflowClient, name: str, event: dict[str, Any]) -> None:
    """Append one event to the model's promotion history (a tag per event, never rewritten)."""
    ms = int(time.time() * 1000)
    existing = set(c.get_registered_model(name).tags)
    while f"{HISTORY_PREFIX}{ms:015d}.{event['version']}" in existing:
        ms += 1
    c.set_registered_model_tag(
        name, f"{HISTORY_PREFIX}{ms:015d}.{event['version']}", json.dumps(event)
    )


def _history(model: Any) -> list[dict[str, Any]]:
    events = []
    for key in sorted(k for k in model.tags if k.startswith(HISTORY_PREFIX)):
        with contextlib.suppress(ValueError, TypeError):
            events.append(json.loads(model.tags[key]))
    return events


def _lineage(events: list[dict[str, Any]]) -> list[str]:
    """Champions in the order they took over, with rollbacks popped off."""
    stack: list[str] = []
    for e in events:
        version = str(e.get("version"))
        action = e.get("action")
        if action == "rollback":
            while stack and stack[-1] != version:
                stack.pop()
            if not stack:
                stack.append(version)
        elif action in ("gate", "promote") and (not stack or stack[-1] != version):
            stack.append(version)
    return stack


def _make_champion(
    c: MlflowClient,
    name: str,
    version: str,
    *,
    action: str,
    reason: str,
    user: str,
    previous: str | None,
) -> None:
    at = _now()
    c.set_registered_model_alias(name, CHAMPION, version)
    challenger = _alias(c, name, CHALLENGER)
    if challenger is not None and str(challenger.version) == version:
        c.delete_registered_model_alias(name, CHALLENGER)
    for key, value in (
        ("promoted_by", user),
        ("promotion_reason", reason),
        ("promoted_at", at),
        ("promotion_action", action),
    ):
        c.set_model_version_tag(name, version, key, value)
    _record(
        c,
        name,
        {
            "action": action,
            "version": version,
            "previous": previous,
            "by": user,
            "reason": reason,
            "at": at,
        },
    )


# --------------------------------------------------------------------------- local cache
def cache_root() -> Path:
    """Where downloaded bundles live: ``$CREDITSCORE_CACHE`` or the user's cache folder."""
    explicit = os.environ.get("CREDITSCORE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "creditscore" / "models"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _bundle_dir_in(model_dir: Path) -> Path:
    """The bundle folder inside a downloaded pyfunc model, found through its MLmodel file."""
    mlmodel = model_dir / "MLmodel"
    try:
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
        rel = spec["flavors"]["python_function"]["artifacts"][BUNDLE_ARTIFACT]["path"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise BundleError(
            f"{model_dir} is not a creditscore model (no {BUNDLE_ARTIFACT!r} artifact in "
            f"MLmodel: {exc}); was it logged by `creditscore train`?"
        ) from None
    return model_dir / rel


def _drop_group_write(folder: Path) -> None:
    """Files we just downloaded into our private folder are ours; a umask of 002 would
    still leave them group-writable, which the bundle's trust check refuses."""
    for p in [folder, *folder.rglob("*")]:
        mode = p.stat().st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            os.chmod(p, mode & ~(stat.S_IWGRP | stat.S_IWOTH))


def fetch_bundle(
    download_uri: str,
    key: str,
    *,
    tracking_uri: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[ModelBundle, Path]:
    """Download a logged model (``download_uri``) once into the cache and load its bundle.

    The cache is a folder only we can write, so the bundle's trust check passes on files we
    wrote ourselves. ``key`` must identify the model immutably (registry URI, name, version
    and run id): a registered version never changes, so a cached copy is reused; a
    half-finished download never is (downloads land in a temporary folder and are renamed
    into place). Returns the bundle and the local model folder.
    """
    root = _private_dir(Path(cache_dir) if cache_dir is not None else cache_root())
    target = root / hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    if not (target / "MLmodel").is_file():
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=download_uri, dst_path=str(staging), tracking_uri=tracking_uri
            )
            _drop_group_write(staging)
            shutil.rmtree(target, ignore_errors=True)
            try:
                Path(local).rename(target)
            except OSError:  # another process finished the same download first
                if not (target / "MLmodel").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ModelBundle.load(_bundle_dir_in(target)), target


# --------------------------------------------------------------------------- gate
def _same_rows(result: TrainingResult, champion: ModelBundle) -> Any:
    """The new training's test rows in the columns the champion needs."""
    ds, idx = result.dataset, result.splits.test
    missing = [f for f in champion.features if f not in ds.X.columns]
    if not missing:
        return ds.X.iloc[idx]
    from creditscore.data.ingest import load_raw  # the champion uses columns this config dropped

    raw = load_raw(result.config)
    spec = result.config.data
    if spec.target in raw.columns:  # the rows training kept: a bad or good outcome
        raw = raw.loc[spec.outcome.codes(raw[spec.target]) >= 0].reset_index(drop=True)
    absent = [f for f in champion.features if f not in raw.columns]
    if absent or len(raw) != ds.n_rows:
        raise BundleError(f"the new data lacks the champion's input columns {absent or missing}")
    return raw.iloc[idx]


def _compare(result: TrainingResult, champion: ModelBundle) -> dict[str, float]:
    y = result.dataset.y[result.splits.test]
    new_p = result.bundle.predict_proba(result.dataset.X.iloc[result.splits.test])
    old_p = champion.predict_proba(_same_rows(result, champion))
    return {
        "rows": float(len(y)),
        "auc_new": float(roc_auc_score(y, new_p)),
        "auc_champion": float(roc_auc_score(y, old_p)),
        "brier_new": float(brier_score_loss(y, new_p)),
        "brier_champion": float(brier_score_loss(y, old_p)),
    }


def _verdict(cmp: dict[str, float], tol: Gate, fairness_ok: bool | None, champ: str) -> list[str]:
    problems = []
    if cmp["auc_new"] < cmp["auc_champion"] - tol.auc:
        problems.append(
            f"AUC {cmp['auc_new']:.4f} is worse than champion v{champ}'s {cmp['auc_champion']:.4f} "
            f"by {cmp['auc_champion'] - cmp['auc_new']:.4f} (tolerance {tol.auc:g})"
        )
    if cmp["brier_new"] > cmp["brier_champion"] + tol.brier:
        problems.append(
            f"Brier {cmp['brier_new']:.4f} is worse than champion v{champ}'s "
            f"{cmp['brier_champion']:.4f} by {cmp['brier_new'] - cmp['brier_champion']:.4f} "
            f"(tolerance {tol.brier:g})"
        )
    if fairness_ok is False:
        problems.append("the fairness gate failed")
    return problems


def register_and_gate(
    tracked: tracking.TrackedRun,
    result: TrainingResult,
    *,
    name: str | None = None,
    tolerances: Gate | None = None,
    fairness_ok: bool | None = None,
    tracking_uri: str | None = None,
    user: str | None = None,
) -> PromotionOutcome:
    """Register the tracked model as a new version and decide champion or challenger.

    ``name`` defaults to the config's ``name``; ``fairness_ok`` is ``None`` when no
    fairness gate is configured. When the tracked run carries a model card, the card is
    rendered again with the version and the gate's decision and re-logged on the run.
    """
    tol = tolerances or Gate()
    name = name or result.config.name
    user = user or tracking.current_user()
    uri, c = _open(tracking_uri or tracked.tracking_uri, must_exist=False)
    with _errors(uri, name=name):
        try:
            c.create_registered_model(
                name, description=f"creditscore model {name!r}: probability of default"
            )
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        m = result.test_metrics
        mv = c.create_model_version(
            name,
            source=tracked.model_source,
            run_id=tracked.run_id,
            tags={
                "candidate": result.champion,
                "label": result.champion_result.label,
                "data_hash": result.dataset.data_hash,
                "test_roc_auc": f"{m['roc_auc']:.6f}",
                "test_brier": f"{m['brier']:.6f}",
                "test_ks": f"{m['ks']:.6f}",
                "cv_auc_mean": f"{result.champion_result.cv_auc_mean:.6f}",
                "policy_version": result.policy.version,
                "registered_by": user,
                "registered_at": _now(),
            },
            description=f"{result.champion_result.label}, test ROC-AUC {m['roc_auc']:.4f}",
        )
        version = str(mv.version)
        current = _alias(c, name, CHAMPION)
        previous = None if current is None else str(current.version)
        cmp: dict[str, float] = {}
        if previous is None and fairness_ok is False:
            problems: list[str] = ["the fairness gate failed (no champion yet)"]
            reason = problems[0] + "; promote it by hand only after review"
        elif previous is None:
            problems = []
            reason = "first version of this model"
        else:
            try:
                champ = load_bundle(name, CHAMPION, tracking_uri=uri)
                cmp = _compare(result, champ.bundle)
                problems = _verdict(cmp, tol, fairness_ok, previous)
            except (BundleError, KeyError, ValueError) as exc:
                problems = [f"could not score champion v{previous} on the new test rows ({exc})"]
            reason = (
                "; ".join(problems)
                if problems
                else (
                    f"on the same {int(cmp['rows'])} test rows: "
                    f"AUC {cmp['auc_new']:.4f} vs champion "
                    f"v{previous}'s {cmp['auc_champion']:.4f}, Brier {cmp['brier_new']:.4f} vs "
                    f"{cmp['brier_champion']:.4f} (tolerances {tol.auc:g} / {tol.brier:g})"
                    + ("; fairness gate passed" if fairness_ok else "")
                )
            )
        gate_tags = {
            "gate": "refused" if problems else "passed",
            "gate_reason": reason[:_MAX_REASON],
            "gate_compared_with": previous or "",
            "gate_fairness": {None: "not configured", True: "passed", False: "failed"}[fairness_ok],
            **{f"gate_{k}": f"{v:.6f}" for k, v in cmp.items()},
        }
        for k, v in gate_tags.items():
            c.set_model_version_tag(name, version, k, v)
        if problems:
            c.set_registered_model_alias(name, CHALLENGER, version)
            _record(
                c,
                name,
                {
                    "action": "refused",
                    "version": version,
                    "previous": previous,
                    "by": user,
                    "reason": reason,
                    "at": _now(),
                },
            )
        else:
            _make_champion(
                c, name, version, action="gate", reason=reason, user=user, previous=previous
            )
    outcome = PromotionOutcome(
        name=name,
        version=version,
        alias=CHALLENGER if problems else CHAMPION,
        promoted=not problems,
        reason=reason,
        user=user,
        previous_champion=previous,
        comparison=cmp,
    )
    if "context" in tracked.card_paths:
        outcome.card_paths = _rerender_card(tracked, outcome)
    return outcome


def _rerender_card(tracked: tracking.TrackedRun, outcome: PromotionOutcome) -> dict[str, Path]:
    from creditscore.evaluation.card import load_card_context
    from creditscore.reporting.model_card import render_model_card

    context = load_card_context(tracked.card_paths["context"])
    promotion = {
        "decision": outcome.alias,
        "reason": outcome.reason,
        "by": outcome.user,
        "at": _now(),
        "compared_with": outcome.previous_champion,
        "comparison": outcome.comparison,
    }
    out_dir = Path(tracked.card_paths["html"]).parent
    paths = render_model_card(context, out_dir, version=outcome.version, promotion=promotion)
    tracking.log_model_card(tracked, paths)
    return paths


# --------------------------------------------------------------------------- commands
def _float(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def list_versions(name: str, *, tracking_uri: str | None = None) -> list[VersionRow]:
    """Every version of ``name``, oldest first, with aliases, key metrics and who/why."""
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name):
        model = _require_model(c, name)
        aliases: dict[str, list[str]] = {}
        for alias, version in (model.aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
        versions = c.search_model_versions(f"name = '{_quote(name)}'")
    rows = []
    for mv in sorted(versions, key=lambda v: int(v.version)):
        tags = dict(mv.tags or {})
        rows.append(
            VersionRow(
                version=str(mv.version),
                aliases=sorted(aliases.get(str(mv.version), [])),
                created=datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC),
                run_id=mv.run_id,
                candidate=tags.get("candidate"),
                test_auc=_float(tags, "test_roc_auc"),
                test_brier=_float(tags, "test_brier"),
                gate=tags.get("gate"),
                gate_reason=tags.get("gate_reason"),
                promoted_by=tags.get("promoted_by"),
                promotion_reason=tags.get("promotion_reason"),
                promoted_at=tags.get("promoted_at"),
            )
        )
    return rows


def _quote(name: str) -> str:
    return name.replace("'", "\\'")


def promotion_history(name: str, *, tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Every gate decision, promotion and rollback of ``name``, oldest first."""
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name):
        return _history(_require_model(c, name))


def promote(
    name: str,
    version: str | int,
    reason: str,
    user: str | None = None,
    *,
    tracking_uri: str | None = None,
) -> PromotionOutcome:
    """Make ``version`` the champion by hand (e.g. a reviewed challenger), recording why."""
    version = str(version).lstrip("v")
    reason = _clean_reason(reason)
    user = user or tracking.current_user()
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name, version=version):
        _require_model(c, name)
        c.get_model_version(name, version)
        current = _alias(c, name, CHAMPION)
        previous = None if current is None else str(current.version)
        if previous == version:
            raise RegistryError(f"version {version} of {name!r} is already the champion")
        _make_champion(
            c, name, version, action="promote", reason=reason, user=user, previous=previous
        )
    return PromotionOutcome(name, version, CHAMPION, True, reason, user, previous)


def rollback(
    name: str, reason: str, user: str | None = None, *, tracking_uri: str | None = None
) -> str:
    """Give the champion alias back to the version that held it before; returns that version."""
    reason = _clean_reason(reason)
    user = user or tracking.current_user()
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name):
        model = _require_model(c, name)
        current = _alias(c, name, CHAMPION)
        if current is None:
            raise RegistryError(f"{name!r} has no champion to roll back from")
        now = str(current.version)
        lineage = _lineage(_history(model))
        if not lineage or lineage[-1] != now:  # alias moved outside creditscore
            lineage.append(now)
        earlier = [v for v in lineage[:-1] if v != now]
        if not earlier:
            raise RegistryError(
                f"version {now} is the only champion {name!r} has had; nothing to roll back to"
            )
        target = earlier[-1]
        c.get_model_version(name, target)
        _make_champion(c, name, target, action="rollback", reason=reason, user=user, previous=now)
        for key, value in (
            ("rolled_back_by", user),
            ("rollback_reason", reason),
            ("rolled_back_at", _now()),
        ):
            c.set_model_version_tag(name, now, key, value)
    return target


def alias_version(name: str, alias: str = CHAMPION, tracking_uri: str | None = None) -> str | None:
    """The version an alias points at, or ``None`` (alias or model absent). Cheap: one
    request, no retries, a 5 s timeout; raises :class:`RegistryUnavailableError` when the
    registry is down, so a server keeps its loaded model."""
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name, alias=alias, retries=0, timeout=5, silence=False):
        mv = _alias(c, name, alias)
    return None if mv is None else str(mv.version)


def load_bundle(
    name: str,
    alias: str = CHAMPION,
    tracking_uri: str | None = None,
    *,
    version: str | None = None,
    cache_dir: Path | None = None,
) -> RegisteredBundle:
    """Download (once, into a private cache) and load the bundle an alias (or version) names."""
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name, version=version, alias=None if version else alias, silence=False):
        _require_model(c, name)
        if version is not None:
            mv = c.get_model_version(name, str(version))
        else:
            found = _alias(c, name, alias)
            if found is None:
                raise RegistryError(_missing(name, None, alias))
            mv = found
        source = c.get_model_version_download_uri(name, str(mv.version))
        key = f"{uri}|{name}|{mv.version}|{mv.run_id}|{source}"
        bundle, path = fetch_bundle(source, key, tracking_uri=uri, cache_dir=cache_dir)
    return RegisteredBundle(bundle, str(mv.version), None if version else alias, mv.run_id, path)


def render_model_card_for_version(
    name: str, version: str | int, out_dir: Path, *, tracking_uri: str | None = None
) -> dict[str, Path]:
    """Write the model card of ``version`` again, with its current promotion record."""
    from creditscore.evaluation.card import CONTEXT_FILE, load_card_context
    from creditscore.reporting.model_card import render_model_card

    version = str(version).lstrip("v")
    uri, c = _open(tracking_uri)
    with _errors(uri, name=name, version=version):
        model = _require_model(c, name)
        mv = c.get_model_version(name, version)
        if not mv.run_id:
            raise RegistryError(f"version {version} of {name!r} has no run, so no model card")
        with tempfile.TemporaryDirectory(prefix="creditscore-card-") as tmp:
            try:
                local = c.download_artifacts(
                    mv.run_id, f"{tracking.CARD_ARTIFACT}/{CONTEXT_FILE}", tmp
                )
            except MlflowException as exc:
                raise RegistryError(
                    f"version {version} of {name!r} was logged without a model card "
                    f"({exc.message}); `creditscore train` logs one"
                ) from None
            context = load_card_context(Path(local))
        aliases = [a for a, v in (model.aliases or {}).items() if str(v) == version]
        events = [
            e
            for e in _history(model)
            if str(e.get("version")) == version or str(e.get("previous")) == version
        ]
    tags = dict(mv.tags or {})
    promotion = {
        "decision": ", ".join(sorted(aliases)) or "no alias",
        "reason": tags.get("promotion_reason") or tags.get("gate_reason"),
        "by": tags.get("promoted_by") or tags.get("registered_by"),
        "at": tags.get("promoted_at") or tags.get("registered_at"),
        "compared_with": tags.get("gate_compared_with") or None,
        "comparison": {k: v for k in _COMPARISON if (v := _float(tags, f"gate_{k}")) is not None},
        "gate": tags.get("gate"),
        "gate_reason": tags.get("gate_reason"),
        "history": events,
    }
    return render_model_card(context, Path(out_dir), version=version, promotion=promotion)
