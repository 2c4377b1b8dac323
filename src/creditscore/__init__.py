"""creditscore: from past credit applications to a governed scoring service."""

__version__ = "0.1.0"
