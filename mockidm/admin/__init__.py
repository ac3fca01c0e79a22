"""The admin API: a host that scripts a mock over HTTP, under the reserved prefix `/__mockidm/`.

`server.py` serves it (from `admin-openapi.yaml`, each handler a call of the `MockIDM` facade);
`client.py` holds `AdminClient`, its client for a test suite in another process (standard
library only). `mockidm.AdminClient` is the same class.
"""

from __future__ import annotations

from .client import AdminClient, AdminError

__all__ = ["AdminClient", "AdminError"]
