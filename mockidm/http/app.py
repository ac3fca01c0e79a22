"""The aiohttp application: the transport (`transport.py`: the mock's limits, bodies, refusals,
the journal) in front of IDM's request pipeline (`pipeline.py`), with routes from the spec."""

from __future__ import annotations

from aiohttp import web

from ..engine import Engine
from ..identity import Identity
from ..profile import Profile, get_profile
from ..spec import load_spec
from ..state import State
from .auth import Sessions
from .pipeline import BASE_PATH, Pipeline
from .render import JSON_TYPE, error_response, json_response
from .transport import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BODY,
    HEADER_SETS_KEPT,
    MAX_HEADER_BYTES,
    MAX_URL_BYTES,
    PARSER_MAX_BYTES,
    Transport,
    handler_args,
)

# Importable from here, as they were before the transport and the pipeline had modules.
__all__ = ["BASE_PATH", "DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_BODY", "HEADER_SETS_KEPT",
           "JSON_TYPE", "MAX_HEADER_BYTES", "MAX_URL_BYTES", "PARSER_MAX_BYTES", "STATE",
           "create_app", "error_response", "json_response"]

STATE = web.AppKey("state", State)


def create_app(engine: Engine | None = None, *, profile: str | Profile = "8.1",
               identity: Identity | None = None, validate_responses: bool = False,
               client_max_size: int = DEFAULT_MAX_BODY,
               body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
               idle_timeout: float | None = None, state: State | None = None
               ) -> web.Application:
    """An aiohttp application serving the workflow API over `engine` (or over `state`, which
    a MockIDM shares with the app so that a test can script it while it serves).

    validate_responses: check every answer against the spec (for tests; costs time).
    client_max_size: the largest request body, in bytes; a larger one is 413.
    body_timeout: seconds a request body may take to arrive (None: no limit); then 408.
    idle_timeout: seconds a connection may stay without a complete request, in its headers
      or between requests, before it is closed (aiohttp's `keepalive_timeout`). None leaves
      the host's: 75 under `web.run_app` (`mockidm serve`), 3630 under `web.AppRunner`.
    """
    if client_max_size < 1:
        raise ValueError("client_max_size must be 1 byte or more")
    if body_timeout is not None and body_timeout <= 0:
        raise ValueError("body_timeout must be positive (or None)")
    if state is None:
        profile = get_profile(profile)
        engine = engine or Engine()
        state = State(engine=engine, identity=identity or Identity.default(profile),
                      profile=profile, sessions=Sessions(engine.clock))
    pipeline = Pipeline(state, load_spec(validate_responses=validate_responses),
                        validate_responses)
    transport = Transport(state, max_body=client_max_size, body_timeout=body_timeout)
    app = web.Application(client_max_size=client_max_size,
                          handler_args=handler_args(idle_timeout))
    app[STATE] = state
    app.on_shutdown.append(transport.shutting_down)
    api = transport.handler(pipeline.answer, pipeline.addressed)
    # The spec's literal paths first: aiohttp finds them with one dict lookup, where the
    # catch-all below costs it a walk up the path and a regex (some 1.5 us a request).
    for path in pipeline.router.literal_paths():
        app.router.add_route("*", f"{BASE_PATH}/{path}", api)
    # `[\s\S]` and not `.`: a path may carry an encoded newline.
    app.router.add_route("*", BASE_PATH + r"{tail:(/[\s\S]*)?}", api)
    app.router.add_route("*", r"/{tail:[\s\S]*}", transport.handler(pipeline.outside))
    return app
