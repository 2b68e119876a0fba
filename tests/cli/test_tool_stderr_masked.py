"""What a tool writes itself to stderr or stdout (``print``, ``traceback.print_exc()``,
``sys.stderr.write``) reaches the log stream with every configured secret masked, and never
the command's own stdout: ``baton run --json`` stays one JSON document.

Real ``python -m baton`` processes: the streams are those of a process, not a test's capture.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.logging import SecretMasker
from baton.masked_streams import MaskedStream
from tests.tools.test_registry import make_distribution

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "crm-tok-5d0e7b19c4a2f866"
TOOL = '''
    """Tools that write the secret they were handed to the standard streams, as careless
    code does."""
    import sys
    import traceback

    from tools import Effect, ToolContext, ToolRegistry


    def register(registry: ToolRegistry) -> None:
        @registry.tool("crm.noisy", secrets=["CRM_TOKEN"], effect=Effect.READ)
        def noisy(customer_id: str, context: ToolContext) -> str:
            """Look a customer up, reporting its failure the way much code does.

            Args:
                customer_id: The CRM id of the customer.
            """
            token = context.secrets["CRM_TOKEN"]
            try:
                raise ConnectionError(f"could not reach crm with {token}")
            except ConnectionError:
                traceback.print_exc()
            sys.stderr.write("split: " + token[:7])  # one secret, two writes
            sys.stderr.write(token[7:] + " end\\n")
            sys.stderr.buffer.write(f"bytes: {token}\\n".encode())
            print("debug: token", token)  # stdout, in a tool thread
            return "found"

        @registry.tool("crm.chatty", secrets=["CRM_TOKEN"], effect=Effect.READ)
        async def chatty(context: ToolContext) -> str:
            """Print the token from the run's own thread (an async tool)."""
            print(f"async: {context.secrets['CRM_TOKEN']}", flush=True)
            return "ok"
'''
STEPS = [{"id": "look", "tool": "crm.noisy", "args": {"customer_id": "c1"}},
         {"id": "chat", "tool": "crm.chatty", "args": {}}]
WRITTEN = ["could not reach crm with [REDACTED]", "split: [REDACTED] end",
           "bytes: [REDACTED]", "debug: token [REDACTED]", "async: [REDACTED]"]


@pytest.fixture
def noisy_site(tmp_path, monkeypatch, cli, data_dir):
    """The tools above installed (for planning here and for the child), the token configured."""
    with (data_dir / "baton.toml").open("a") as settings:
        settings.write(f'\n[secrets]\nCRM_TOKEN = "{TOKEN}"\n')
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    module = make_distribution(site, "crm", TOOL)
    yield site
    sys.modules.pop(module, None)


def approved_plan(cli, data_dir: Path) -> str:
    (data_dir / "noisy.json").write_text(json.dumps({"goal": "look up c1", "steps": STEPS}))
    planned = cli("--as", "alice", "plan", "--file", "noisy.json", "--json")
    assert planned.returncode == 0, planned.stderr
    body = json.loads(planned.stdout)
    if body["status"] != "approved":
        assert cli("--as", "bob", "approve", body["plan_id"]).returncode == 0
    return body["plan_id"]


def baton(data_dir: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "baton", "--as", "alice", *args], cwd=data_dir,
                          env=env, capture_output=True, text=True, timeout=60)


def test_run_json_masks_what_tools_write_and_keeps_stdout_json(cli, data_dir, noisy_site):
    ran = baton(data_dir, noisy_site, "run", approved_plan(cli, data_dir), "--json")

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "succeeded"  # the record, and nothing else
    assert TOKEN not in ran.stdout + ran.stderr
    for line in WRITTEN:
        assert line in ran.stderr, ran.stderr
    assert "Traceback (most recent call last):" in ran.stderr  # as written, line by line


def test_worker_logs_what_tools_write_as_masked_json_lines(cli, data_dir, noisy_site):
    assert cli("--as", "alice", "run", approved_plan(cli, data_dir), "--detach").returncode == 0

    worked = baton(data_dir, noisy_site, "worker", "--once")

    assert worked.returncode == 0, worked.stderr
    assert worked.stdout.strip() == "worker ran 1 run(s)"
    assert TOKEN not in worked.stdout + worked.stderr
    entries = [json.loads(line) for line in worked.stderr.splitlines()]  # every line an entry
    texts = "\n".join(entry["text"] for entry in entries if "text" in entry)
    for line in WRITTEN:
        assert line in texts, worked.stderr
    assert {entry["event"] for entry in entries if "text" in entry} == {
        "written to stderr", "written to stdout"}


def masked_onto(out: io.StringIO, name: str, *secrets: str) -> MaskedStream:
    return MaskedStream(name, out, mask=SecretMasker(secrets).mask_text, secrets=lambda: secrets)


def test_a_secret_spanning_lines_is_held_until_it_can_be_masked_whole():
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----"
    out = io.StringIO()
    stream = masked_onto(out, "stderr", pem)
    stream.write("key: " + pem[:25])
    stream.write(pem[25:] + "\nnext\n")
    assert out.getvalue() == "key: [REDACTED]\nnext\n"
    stream.write("tail without end")
    stream.close()  # as the command ends
    assert out.getvalue().endswith("next\ntail without end")


def test_a_secret_rich_folded_across_lines_is_masked():
    # A live display prints a tool's line above its table, folded at the terminal's width.
    out = io.StringIO()
    stream = masked_onto(out, "stdout", TOKEN)
    rendering = f"\x1b[2Kdebug: {TOKEN[:9]}\n{TOKEN[9:18]}\n{TOKEN[18:]}\n| step |\n"
    exec("stream.write(rendering)", {"__name__": "rich.console", "stream": stream,
                                     "rendering": rendering})
    assert out.getvalue() == "\x1b[2Kdebug: [REDACTED]\n| step |\n"


@pytest.mark.parametrize("command", ["run", "worker"])
def test_help_of_a_tool_command_is_all_on_stdout(data_dir, command):
    shown = subprocess.run([sys.executable, "-m", "baton", command, "--help"], cwd=data_dir,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True,
                           text=True, timeout=60)

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.endswith("\n") and shown.stderr == ""  # click's last newline too


def test_a_program_embedding_the_cli_gets_its_streams_back(cli, data_dir):
    program = ("import sys\nfrom baton.cli import main\n"
               "main(['--as', 'alice', 'run', 'p-none', '--json'])\n"
               "print('mine')\nprint(type(sys.stdout).__name__, file=sys.stderr)\n")
    ran = subprocess.run([sys.executable, "-c", program], cwd=data_dir, capture_output=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), text=True, timeout=60)

    assert ran.stdout.endswith("mine\n"), ran.stdout + ran.stderr
    assert "MaskedStream" not in ran.stderr
