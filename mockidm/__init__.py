"""mockidm: a faithful mock of the PingIDM workflow REST API, and a kit to check real servers."""

from .engine import Engine, FormProperty, UserTask, linear_process
from .http.app import create_app
from .identity import Identity
from .profile import Profile, get_profile

__all__ = [
    "Engine",
    "FormProperty",
    "Identity",
    "Profile",
    "UserTask",
    "create_app",
    "get_profile",
    "linear_process",
]
__version__ = "0.1.0"
