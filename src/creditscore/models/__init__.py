"""Candidate models: the catalog, the WoE scorecard and the PyTorch MLP."""

import logging


def _not_highs_import_error(record: logging.LogRecord) -> bool:
    return "importing solver HIGHS" not in record.getMessage()


# optbinning loads OR-Tools, whose bundled HiGHS clashes with the highspy wheel, so CVXPY
# logs an ImportError for its optional HiGHS solver on every start. We never use HiGHS
# (optbinning solves with OR-Tools); this drops that one message and nothing else.
logging.getLogger("__cvxpy__").addFilter(_not_highs_import_error)
