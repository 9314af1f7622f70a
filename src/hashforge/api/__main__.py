"""`python -m hashforge.api api ...` / `python -m hashforge.api api-key ...`."""

from hashforge.api.cli import standalone

standalone()()
