"""``baton serve`` listening: the addresses it binds, and one clear error line when it cannot.

On a port already taken: one error line, exit 1, and no banner. Addresses are bound as
asyncio's create_server bound them (what uvicorn did before baton bound them itself).
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys

import pytest
import uvicorn

from baton.cli import serve_cmd


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


# --- which addresses it binds: as asyncio's create_server (what uvicorn did before) ---------

REAL_SOCKET = socket.socket


class _NoIPv6(REAL_SOCKET):
    """socket.socket on a kernel booted with ipv6.disable=1."""

    def __init__(self, family=-1, *args, **kwargs):
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        super().__init__(family, *args, **kwargs)


def _resolving_to(monkeypatch, *addresses: tuple[int, tuple]) -> None:
    """Make every host name resolve to ``addresses`` (family, sockaddr), in that order."""
    def getaddrinfo(host, port, *args, **kwargs):
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address[0], port,
                                                                       *address[2:]))
                for family, address in addresses]
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


IPV6 = (socket.AF_INET6, ("::1", 0, 0, 0))
IPV4 = (socket.AF_INET, ("127.0.0.1", 0))


def test_an_address_family_the_kernel_lacks_is_skipped(monkeypatch):
    _resolving_to(monkeypatch, IPV6, IPV4)
    monkeypatch.setattr(socket, "socket", _NoIPv6)
    sockets = serve_cmd.listening_sockets("localhost", 0)
    try:
        assert [s.family for s in sockets] == [socket.AF_INET]
        assert sockets[0].getsockname()[1] != 0
    finally:
        for sock in sockets:
            sock.close()


def test_an_address_this_machine_cannot_assign_is_skipped(monkeypatch):
    # 192.0.2.1 (TEST-NET-1) is on no interface: bind fails with EADDRNOTAVAIL.
    _resolving_to(monkeypatch, (socket.AF_INET, ("192.0.2.1", 0)), IPV4)
    sockets = serve_cmd.listening_sockets("somehost", 0)
    try:
        assert [s.getsockname()[0] for s in sockets] == ["127.0.0.1"]
    finally:
        for sock in sockets:
            sock.close()


def test_when_no_address_can_be_bound_the_last_failure_is_raised(monkeypatch):
    _resolving_to(monkeypatch, IPV4, IPV6)

    def no_socket(family=-1, *args, **kwargs):
        raise OSError(errno.EAFNOSUPPORT, f"no family {family}")
    monkeypatch.setattr(socket, "socket", no_socket)
    with pytest.raises(OSError) as raised:
        serve_cmd.listening_sockets("localhost", 0)
    assert raised.value.errno == errno.EAFNOSUPPORT
    assert raised.value.strerror == f"no family {socket.AF_INET6}"


def test_a_port_in_use_on_one_address_fails_and_closes_the_others(monkeypatch):
    with REAL_SOCKET() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        free = REAL_SOCKET()
        free.bind(("127.0.0.2", 0))  # another loopback address, to see it closed
        free.close()
        opened: list[socket.socket] = []

        class Tracked(REAL_SOCKET):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                opened.append(self)
        monkeypatch.setattr(socket, "socket", Tracked)
        _resolving_to(monkeypatch, (socket.AF_INET, ("127.0.0.2", 0)), IPV4)
        with pytest.raises(OSError) as raised:
            serve_cmd.listening_sockets("somehost", port)
    assert raised.value.errno == errno.EADDRINUSE
    assert len(opened) == 2 and all(s.fileno() == -1 for s in opened)


@pytest.mark.parametrize(("os_name", "reuse"), [("posix", True), ("nt", False)])
def test_so_reuseaddr_is_set_only_on_posix_as_asyncio_does(monkeypatch, os_name, reuse):
    monkeypatch.setattr(serve_cmd.os, "name", os_name)
    (sock,) = serve_cmd.listening_sockets("127.0.0.1", 0)
    with sock:
        assert bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)) is reuse


# --- what `baton serve` says about the host it was given --------------------------------------

@pytest.fixture
def served(cli, monkeypatch):
    """``baton serve`` in-process, with uvicorn's run replaced: the sockets are closed at once."""
    configs: list[uvicorn.Config] = []

    def run(server, sockets=None):
        configs.append(server.config)
        for sock in sockets or ():
            sock.close()
    monkeypatch.setattr(uvicorn.Server, "run", run)
    return lambda *args: cli("serve", *args)


def test_a_host_name_idna_cannot_encode_is_one_error_line(served):
    done = served("--host", "a..b", "--port", "0")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr.startswith("error: cannot listen on a..b:0: "), done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_bracketed_ipv6_host_is_named_once_bracketed(served):
    try:
        with REAL_SOCKET(socket.AF_INET6) as taken:
            taken.bind(("::1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            done = served("--host", "[::1]", "--port", str(port))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    assert done.returncode == 1
    assert done.stderr == f"error: cannot listen on [::1]:{port}: address already in use\n"


def test_all_interfaces_show_a_usable_url_in_the_banner(served):
    done = served("--host", "", "--port", "0")
    assert done.returncode == 0, done.stderr
    banner = done.stdout.splitlines()[0]
    assert banner.startswith(("Baton on http://0.0.0.0:", "Baton on http://[::]:")), banner
    assert "http://:" not in done.stdout
