"""``python -m fraudwatch.cli ...`` is the ``fraudwatch`` command."""

from fraudwatch.cli import main

main()
