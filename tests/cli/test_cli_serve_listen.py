"""``baton serve`` on a port already taken: one clear error line, exit 1, and no banner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def test_serve_on_a_port_in_use_says_so_in_one_line_and_exits_1(data_dir):
    (data_dir / "baton.toml").write_text('[users.alice]\nroles = ["analyst"]\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "baton", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=120, check=False,
                              env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "", "the banner must not promise a server that never listened"
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: address already in use\n"
