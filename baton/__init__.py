"""Baton's application shell: settings, use cases, CLI, HTTP API and web page."""

from .settings import ConfigError, Settings, UnknownUserError, User, load_settings

__version__ = "0.1.0"

__all__ = ["ConfigError", "Settings", "UnknownUserError", "User", "__version__", "load_settings"]
