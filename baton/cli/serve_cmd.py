"""``baton serve``: the HTTP API and the approvers' web page on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import console, state
from .main import app


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body accepted (bytes).")
    ] = 1024 * 1024,
    poll_interval: Annotated[float, typer.Option(
        "--poll-interval", min=0.1, max=3600.0,
        help="Seconds between looks for runs queued by other processes (baton run --detach); "
             "at most an hour.")
    ] = 3.0,
) -> None:
    """Serve the HTTP API (/api/v1, docs at /docs) and the web page for approvers."""
    import uvicorn

    from baton.api import create_app
    from baton.logging import configure_logging

    services = state(ctx).services
    configure_logging("info", json=True, secret_values=services.secret_values)
    application = create_app(services, max_body_bytes=max_body_bytes,
                             worker_poll_s=poll_interval)
    console.print(f"Baton on [bold]http://{host}:{port}/[/] (API docs: /docs)")
    uvicorn.run(application, host=host, port=port, log_level="info", log_config=None)
