"""The web page for analysts and approvers: server-rendered pages over the same use cases."""

from .routes import install_web

__all__ = ["install_web"]
