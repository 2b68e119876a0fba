"""``baton serve``: the HTTP API and the approvers' web page on uvicorn."""

from __future__ import annotations

import errno
import math
import os
import socket
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..limits import BODY_MAX_BYTES
from .common import console, fail, safe_markup, state
from .main import app

if TYPE_CHECKING:
    import uvicorn


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body accepted (bytes).")
    ] = BODY_MAX_BYTES,
    poll_interval: Annotated[float, typer.Option(
        "--poll-interval", min=0.1, max=3600.0,
        help="Seconds between looks for runs queued by other processes (baton run --detach); "
             "at most an hour.")
    ] = 3.0,
) -> None:
    """Serve the HTTP API (/api/v1, docs at /docs) and the web page for approvers (exit 1 when
    it cannot listen on HOST:PORT)."""
    import uvicorn

    from baton.api import create_app

    cli = state(ctx)
    cli.use_logging("info", json=True)
    services = cli.services
    # Built before listening, not on the first request: a table named like a packaged tool
    # stops the start (exit 2), as the settings check stops it for a built-in one.
    services.registry  # noqa: B018
    # The policies too: read now, they change on a restart (README), not at the first decision
    # (a file edited or broken after the start would otherwise be the one in force).
    services.policy_engine  # noqa: B018
    application = create_app(services, max_body_bytes=max_body_bytes,
                             worker_poll_s=poll_interval,
                             shutdown_grace_s=services.settings.executor.drain_grace_s)
    # Bound here, not by uvicorn, so that a taken port is one error line before any banner
    # (uvicorn logs it as JSON after its start-up messages and exits 3).
    host = _unbracketed(host)
    try:
        sockets = listening_sockets(host, port)
    except (OSError, ValueError) as exc:  # ValueError: a name idna cannot encode ("a..b")
        fail(f"cannot listen on {_address(host or '*', port)}: {_reason(exc)}")
    shown, bound_port = sockets[0].getsockname()[:2]  # --port 0: the one the system chose
    # An IPv6 address is bracketed in the URL: [fd00::5] would read as a style, and vanish.
    console.print(f"Baton on [bold]http://{safe_markup(_address(host or shown, bound_port))}/[/] "
                  "(API docs: /docs)")
    worker = application.state.worker
    # Open connections (an event stream follows a run for as long as it lasts) get the
    # worker's grace too; the streams themselves end as the shutdown begins.
    config = uvicorn.Config(application, host=host or shown, port=bound_port, log_level="info",
                            log_config=None, timeout_graceful_shutdown=math.ceil(worker.grace_s))
    # SIGTERM or Ctrl-C: the worker drains (claims nothing, starts no step, gives the calls
    # in flight the grace, leaves the rest for another worker) from the signal on, not once
    # uvicorn has closed the connections. Stopped after uvicorn's graceful shutdown, the runs
    # the API's worker took recorded (threads a tool left running do not keep the process
    # alive: main's exit sees to it). uvicorn raises the signal again once it has shut down:
    # SIGTERM ends the process by it; Ctrl-C's KeyboardInterrupt exits 130, as typer would.
    try:
        _server(config, worker.begin_shutdown).run(sockets=sockets)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _server(config: uvicorn.Config, on_signal: Callable[[], None]) -> uvicorn.Server:
    """uvicorn's server, calling ``on_signal`` as soon as a shutdown signal comes (uvicorn
    tells the application only once its open connections have ended)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            on_signal()  # takes no lock: it runs in a signal handler
            super().handle_exit(sig, frame)

    return Server(config)


def listening_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address of ``host``, as asyncio would bind them.

    Like asyncio's create_server, an address whose family this machine lacks (no IPv6 in the
    kernel) or that it cannot assign is skipped; OSError when nothing could be bound (the last
    failure) or an address cannot be bound for another reason, with no socket left open.
    """
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    bound: list[socket.socket] = []
    failure: OSError | None = None
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            if bound:  # --port 0: every address on the port the first one got
                address = (address[0], bound[0].getsockname()[1], *address[2:])
            try:
                sock = socket.socket(family, kind, proto)
            except OSError as exc:  # asyncio skips it too: e.g. EAFNOSUPPORT without IPv6
                failure = exc
                continue
            try:
                _bind(sock, family, address)
            except OSError as exc:
                sock.close()
                if exc.errno != errno.EADDRNOTAVAIL:  # asyncio skips only that one (bpo-30945)
                    raise
                failure = exc
                continue
            bound.append(sock)
    except OSError:
        for sock in bound:
            sock.close()
        raise
    if not bound:
        raise failure or OSError(errno.EADDRNOTAVAIL, f"no address found for {host!r}")
    return bound


def _bind(sock: socket.socket, family: int, address: tuple[Any, ...]) -> None:
    if os.name == "posix":  # as asyncio: elsewhere (Windows) it lets two servers share a port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:  # else its IPv4-mapped half clashes with the IPv4 socket
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(address)


def _unbracketed(host: str) -> str:
    """'::1' from '[::1]', as written in URLs."""
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: Exception) -> str:
    """'address already in use', from '[Errno 98] Address already in use'."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]
