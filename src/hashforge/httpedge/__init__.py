"""The HTTP edge that hashforge.api and hashforge.web both stand on (they serve one app).

One package, so neither imports the other for who-may-call and the dashboard never imports the API:
- `access`: who may call a route (`ReadAccess`, `ControlAccess`, `SpendAccess`, `CustomerAccess`,
  `CUSTOMER_ROUTE`), the policy written once for /v1 routes and dashboard pages alike;
- `lookups`: what a route or page uses from `app.state` (`ComponentsDep`, `NodeDep`, `BusDep`);
- `session`: the sign-in cookie's name and the methods it counts for;
- `hosts`: which host names are loopback.

The 401/403 that access raises are `Unauthorized`/`Forbidden` in hashforge.services.errors, with every
other problem kind.

It imports services, never hashforge.api or hashforge.web (tests/test_architecture.py checks).
"""
