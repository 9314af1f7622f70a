"""The API's own dependency alias: `SettingsDep` (its validated settings).

Who may call (`ReadAccess`, `ControlAccess`, `SpendAccess`, `CustomerAccess`) and what routes use
from the app's state (`NodeDep`, `BusDep`, `ComponentsDep`) are shared with the dashboard's pages:
they live in hashforge.httpedge, which both import.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from .settings import ApiSettings


def get_settings(request: Request) -> ApiSettings:
    return cast(ApiSettings, request.app.state.settings)


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
