"""Runtime settings (environment variables with prefix ``CREDITSCORE_``, or a ``.env`` file).

Read once, where a command or the app starts (``get_settings()``); nothing happens at
import. Project-level choices (data, candidates, costs) live in ``ProjectConfig`` instead.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    dev_mode: bool = Field(default=False, description="allow unsafe defaults (no API key)")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
