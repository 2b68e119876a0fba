"""A real uvicorn server on 127.0.0.1 in a thread, and settings with one user per role."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from baton.services import Services
from baton.settings import Settings, User, hash_token

ROLES = {"alice": ("analyst",), "bob": ("approver",), "carol": ("approver",),
         "dave": ("auditor",), "erin": (), "root": ("admin",), "frank": ("analyst", "approver")}


def token_of(user_id: str) -> str:
    """The test bearer token of ``user_id``."""
    return f"{user_id}-secret-token"


def make_settings(root: Path, **extra) -> Settings:
    """Settings confined to ``root``: one user per role, each with a token."""
    users = {uid: User(id=uid, roles=roles, token_sha256=(hash_token(token_of(uid)),))
             for uid, roles in ROLES.items()}
    workspace = root / "workspace"
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "sales.csv").write_text("region,amount\nnorth,10\nsouth,32\n", encoding="utf-8")
    return Settings(data_dir=root / ".baton", workspace=workspace, users=users,
                    policy_data={"egress_allowlist": ["hooks.example.com"]}, **extra)


class LiveServer:
    """Runs an ASGI app with uvicorn on a free 127.0.0.1 port until ``stop``."""

    def __init__(self, app) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # Keep-alive past any pause a loaded machine puts between two requests of a test: a
        # connection the server closes just as the client reuses it fails the request.
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=120)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> LiveServer:
        """Start serving; returns once the server accepts connections."""
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for it."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def serve(services: Services, **options) -> LiveServer:
    """Build the app over ``services`` and start it."""
    from baton.api import create_app

    return LiveServer(create_app(services, **options)).start()
