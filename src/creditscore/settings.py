"""Runtime settings (environment variables with prefix ``CREDITSCORE_``, or a ``.env`` file).

Read once, where a command or the app starts (``get_settings()``); nothing happens at
import. Project-level choices (data, candidates, costs) live in ``ProjectConfig`` instead.

Secrets (API keys, the PII hashing key) are ``SecretStr``: they print as ``**********`` in
reprs and logs. List settings take comma-separated values in the environment, e.g.
``CREDITSCORE_API_KEYS=key-one,sha256:9f86d0...``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITSCORE_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path("."), description="working folder for local state")
    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default: sqlite:///mlflow.db in home"
    )
    model_name: str | None = Field(default=None, description="registered model name override")
    database_url: str | None = Field(
        default=None, description="decision log; default: sqlite:///decisions.db in home"
    )
    dev_mode: bool = Field(
        default=False,
        description="allow starting with no API key configured (client routes are then open; "
        "configured keys are always enforced, and admin routes always need an admin key)",
    )

    # ---------------------------------------------------------------- serving: the model
    model_path: Path | None = Field(
        default=None, description="serve this bundle folder instead of the registry alias"
    )
    model_alias: str = Field(default="champion", description="registry alias to serve")
    reload_interval: float = Field(
        default=60.0,
        ge=0,
        description="seconds between checks whether the alias moved (0: never poll)",
    )

    # ---------------------------------------------------------------- serving: security
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="client keys for X-API-Key, comma-separated; plain or sha256:<hex>",
    )
    admin_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="keys for /v1/admin routes, same format as api_keys"
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, gt=0, description="largest request body accepted (413 above)"
    )
    max_batch: int = Field(default=1000, gt=0, description="most applications in one batch")
    access_log: bool = Field(default=False, description="uvicorn access log (one line/request)")

    # ---------------------------------------------------------------- serving: decision log
    spool_path: Path | None = Field(
        default=None,
        description="where decisions wait while the database is down; "
        "default: decisions-spool.jsonl in home",
    )
    log_queue_size: int = Field(
        default=10_000, gt=0, description="decisions held in memory for the background writer"
    )
    log_batch_size: int = Field(default=500, gt=0, description="decisions per database write")
    log_flush_interval: float = Field(
        default=0.2, gt=0, description="longest wait (s) before a partial batch is written"
    )
    log_retry_interval: float = Field(
        default=2.0, gt=0, description="seconds between attempts to reach a failed database"
    )
    pii_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="extra request fields treated like protected attributes in the log",
    )
    pii_key: SecretStr | None = Field(
        default=None,
        description="HMAC key: protected and PII fields are logged as keyed hashes; "
        "without it they are dropped from the log",
    )

    # ---------------------------------------------------------------- batch scoring
    spark_master: str | None = Field(
        default=None,
        description="Spark master for `score --engine spark` (default: local[2], or the "
        "master spark-submit was given)",
    )

    @field_validator("api_keys", "admin_keys", "pii_fields", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split_commas(value)

    def decision_log_url(self) -> str:
        """The decision log's SQLAlchemy URL (SQLite in ``home`` unless configured)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'decisions.db').resolve()}"

    def decision_spool_path(self) -> Path:
        return self.spool_path or self.home / "decisions-spool.jsonl"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
