"""Which hosts are loopback: the API's settings refuse anonymous reads off loopback, and access
allows them only to requests whose Host is a loopback name (a DNS-rebinding page gets 401). The
test itself is hashforge.settings' (node and miner settings refuse binds off loopback with it too)."""

from __future__ import annotations

from hashforge.settings import LOOPBACK_NAMES, is_loopback

__all__ = ["LOOPBACK_NAMES", "is_loopback"]
