"""Renderers of HTML pages from typed results (model card, fairness, monitoring)."""
