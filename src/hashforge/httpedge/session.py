"""The sign-in cookie: a read key a browser signed in with at /login (web sets and clears it; the
API's middleware reads it, for GET/HEAD only, so a page on another site cannot make a browser
control or spend)."""

from __future__ import annotations

SESSION_COOKIE = "hashforge_read_key"
LOGIN_PATH = "/login"
COOKIE_METHODS = ("GET", "HEAD")
