"""``python -m swarmfly``: the same entry point as the ``swarmfly`` command."""

from swarmfly.cli import main

main()
