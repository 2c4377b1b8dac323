"""Explanations: reason codes (``reasons``), global explanations and LIME (``global_``),
counterfactuals (``counterfactual``) and fairness (``fairness``).

Nothing is imported here, so ``import creditscore.explain`` stays cheap; import the module
you need.
"""
