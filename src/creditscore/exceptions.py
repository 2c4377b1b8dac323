"""Typed errors. Every user mistake surfaces as one of these, with a message that says
what is wrong (field, value, count, example) and what to do; the CLI prints the message
instead of a traceback. Each also subclasses the matching builtin so callers that catch
``ValueError`` or ``FileNotFoundError`` keep working."""

from __future__ import annotations


class CreditScoreError(Exception):
    """Base class of every error creditscore raises on purpose."""


class ConfigError(CreditScoreError, ValueError):
    """The project configuration (YAML) is invalid: unknown key, wrong type, bad value."""


class DataError(CreditScoreError, ValueError):
    """The data does not match the configuration or cannot be used for training."""


class DataFileError(CreditScoreError, FileNotFoundError):
    """A data file is missing, unreadable or in an unsupported format."""


class ModelError(CreditScoreError, RuntimeError):
    """A model could not be trained, loaded or used."""


class BundleError(CreditScoreError, ValueError):
    """A saved model bundle is missing, broken, untrusted or incompatible."""


class ScoringInputError(CreditScoreError, ValueError):
    """An application to score does not fit the model's input schema."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RegistryError(CreditScoreError, LookupError):
    """No such registered model, version or alias; or an action the registry refuses."""


class RegistryUnavailableError(CreditScoreError, ConnectionError):
    """The model registry (tracking server or database) cannot be reached, or is not
    installed: a server keeps serving the model it has."""


class BundleNotFoundError(BundleError, FileNotFoundError):
    """No model bundle at the given path (no such folder, or no bundle in it)."""


class NotCompilableError(ModelError):
    """The model, or a part of it, has no exact compiled form: score with the pipeline."""


class TrackingError(CreditScoreError, RuntimeError):
    """The tracking store could not be reached or refused what we logged."""
