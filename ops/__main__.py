"""`python -m ops`."""

from ops.cli import main

main()
