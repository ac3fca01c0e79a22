"""mockidm: a faithful mock of the PingIDM workflow REST API, and a kit to check real servers."""

from .admin_client import AdminClient
from .engine import Engine, FormProperty, UserTask, linear_process
from .facade import MockIDM
from .http.app import create_app
from .identity import Identity
from .profile import Profile, get_profile

__all__ = [
    "AdminClient",
    "Engine",
    "FormProperty",
    "Identity",
    "MockIDM",
    "Profile",
    "UserTask",
    "create_app",
    "get_profile",
    "linear_process",
]
__version__ = "0.1.0"
