"""``python -m creditscore.cli``."""

from creditscore.cli import main

main()
