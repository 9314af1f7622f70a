"""Allows `python -m hashforge`."""

from hashforge.cli import main

main()
