"""The script ``spark-submit`` runs: ``creditscore score ... --engine spark`` on a cluster.

    spark-submit [spark options] "$(python -c 'import creditscore.cli.spark_submit as m;
    print(m.__file__)')" IN OUT [creditscore score options]

spark-submit's master and resources apply (``--master`` here is not needed); every option
of ``creditscore score`` is accepted.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``creditscore score IN OUT [options] --engine spark`` with this script's arguments."""
    from creditscore.cli import main as cli_main

    sys.argv = [sys.argv[0], "score", *sys.argv[1:], "--engine", "spark"]
    cli_main()


if __name__ == "__main__":
    main()
