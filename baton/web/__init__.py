"""The web page for analysts and approvers: server-rendered pages over the same use cases."""

from .gate import SignInFirst, signin_paths
from .routes import install_web

__all__ = ["SignInFirst", "install_web", "signin_paths"]
