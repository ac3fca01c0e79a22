"""IDM's `info/ping` and `info/version`, which health checks poll before anything else
(docs/fidelity.md, "Server information").

In IDM both are script endpoints (`info/ping.js`, `info/version.js`) that answer reads only;
the default access rule for `info/*` lets any authenticated user read them, the `anonymous`
user too.
"""

from __future__ import annotations

import mockidm

from .call import Call, Reply
from .operations import operation

# A mock is ready as soon as it answers: there is no cluster or bundle to wait for.
READY = {"_id": "", "_rev": "", "shortDesc": "OpenIDM ready", "state": "ACTIVE_READY"}


@operation("readInfoPing")
def ping(call: Call) -> Reply:
    return Reply(dict(READY))


@operation("readInfoVersion")
def version(call: Call) -> Reply:
    # The release the profile stands for; the build fields name mockidm's own build, so that
    # nobody mistakes the mock for an IDM build.
    return Reply({
        "_id": "version",
        "productVersion": call.profile.product_version,
        "productBuildDate": "",
        "productRevision": f"mockidm-{mockidm.__version__}",
    })
