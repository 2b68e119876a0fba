"""Private keys are denied in every armour they are commonly written in, public ones are not.

The secret pattern read only PEM's ``-----BEGIN … PRIVATE KEY-----``: an OpenPGP secret key
(``-----BEGIN PGP PRIVATE KEY BLOCK-----``), an SSH.com/Tectia key
(``---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----``) and a PuTTY key file (``.ppk``) went through.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from planner.plan import Plan
from policies.bundle import PolicyBundle
from policies.contracts import PolicyContext, Requester
from policies.inputs import build_policy_input
from tests.support.policy_tools import policy_registry

ALICE = Requester(id="alice", roles=("analyst",))
NOON = PolicyContext(now=datetime(2024, 6, 4, 12, tzinfo=UTC))

PGP = ("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXk2m8BCADJ3kL9pQx7vB2mN\n=Zk3x\n"
       "-----END PGP PRIVATE KEY BLOCK-----\n")
SSH2 = ('---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20240101"\n'
        "P2/56wAAA+YAAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfSxlbmNyeXB0\n"
        "---- END SSH2 ENCRYPTED PRIVATE KEY ----\n")
PUTTY_3 = ("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n"
           "Comment: ed25519-key-20240101\nPublic-Lines: 2\n"
           "AAAAC3NzaC1lZDI1NTE5AAAAIDx0n3T4nI0bFzYyqR9\nk2m8BCADJ3kL9pQx7vB2mN\n"
           "Private-Lines: 1\nAAAAIGk3x9QpLmN7vB2XyTq8WZk3x9QpLmN7vB2XyTq8\n"
           "Private-MAC: 8a5b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b\n")
PUTTY_2 = PUTTY_3.replace("File-3: ssh-ed25519", "File-2: ssh-rsa")
# A .ppk's private lines without its header (a key pasted from the middle of the file).
PUTTY_PRIVATE_LINES = PUTTY_3[PUTTY_3.index("Private-Lines"):]
OPENSSH = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
PKCS8 = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0w\n-----END ENCRYPTED PRIVATE KEY-----"

_PRIVATE_KEY = [re.compile(p["pattern"]) for p in PolicyBundle.load().data["secret_patterns"]
                if p["kind"] == "a private key"]


def _write(engine, text: str):
    plan = Plan.model_validate({"goal": "g", "steps": [
        {"id": "save", "tool": "files.write", "args": {"path": "key.txt", "text": text}}]})
    return engine.decide(build_policy_input(plan, policy_registry(), requester=ALICE, context=NOON))


@pytest.mark.parametrize("text", [PGP, SSH2, PUTTY_3, PUTTY_2, PUTTY_PRIVATE_LINES, OPENSSH, PKCS8],
                         ids=["pgp", "ssh2", "putty-3", "putty-2", "putty-private-lines",
                              "openssh", "pkcs8"])
def test_a_private_key_is_denied(engine, text):
    decision = _write(engine, text)
    assert not decision.allow
    assert "step save: argument $.args.text contains a private key; configure it as a secret " \
           "and write ${secret:NAME} instead" in decision.deny, decision.deny


def test_a_private_key_deep_in_a_long_text_is_denied(engine):
    # Long strings reach the rules as overlapping windows of 512 characters.
    decision = _write(engine, "notes\n" * 400 + SSH2 + "more notes\n" * 200)
    assert any("contains a private key" in d for d in decision.deny), decision.deny


@pytest.mark.parametrize("text", [
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGXk2m8BCADJ\n-----END PGP PUBLIC KEY BLOCK-----",
    "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhello\n-----BEGIN PGP SIGNATURE-----",
    '---- BEGIN SSH2 PUBLIC KEY ----\nComment: "rsa-key"\nAAAAB3NzaC1yc2E\n---- END SSH2 PUBLIC KEY ----',
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIE\n-----END CERTIFICATE-----",
    "Convert the key with puttygen; keep the private key file safe and never share it.",
    "Public-Lines: 6 holds the public half",
])
def test_public_keys_signatures_and_prose_are_no_private_key(text):
    assert not any(p.search(text) for p in _PRIVATE_KEY)
