"""A CloudEvents ``source`` is an RFC 3986 URI-reference: with no scheme, the first segment of
a relative path holds no ':' (§4.2), so ":foo", ":" and "::/x" are refused like "1abc:foo"."""

from __future__ import annotations

import pytest

from executor.uri_reference import uri_reference_problem

NO_SCHEME_BEFORE_COLON = [":foo", ":", "::/x", ":/x", ":?q", ":#f", ":a:b/c"]


@pytest.mark.parametrize("text", NO_SCHEME_BEFORE_COLON)
def test_a_relative_reference_whose_first_segment_holds_a_colon_is_refused(text):
    why = uri_reference_problem(text)
    assert why is not None and "':'" in why and "scheme" in why, why


@pytest.mark.parametrize("text", [
    "./:foo", "/:foo", "/a:b", "a/b:c", "%3Afoo", "?:q", "#:f", "//h/:x", "urn::x", "a:",
    "a::/x", "urn:a:b"])
def test_a_colon_after_a_scheme_or_past_the_first_segment_is_accepted(text):
    assert uri_reference_problem(text) is None


@pytest.mark.parametrize("value", [":foo", ":", "::/x", "1abc:foo"])
def test_export_refuses_a_source_with_no_scheme_before_its_colon(cli, value):
    done = cli("audit", "export", "--format", "cloudevents", "--source", value)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--source" in lines[0] and "URI-reference" in lines[0], done.stderr
    assert "scheme" in lines[0] and done.stdout == ""


@pytest.mark.parametrize("value", [":foo", "::/x"])
def test_a_source_setting_with_no_scheme_before_its_colon_is_a_configuration_error(
        cli, data_dir, value):
    done = cli("audit", "verify", env={"BATON_AUDIT_CLOUDEVENTS_SOURCE": value})
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "BATON_AUDIT_CLOUDEVENTS_SOURCE" in lines[0], done.stderr
    assert "URI-reference" in lines[0] and "scheme" in lines[0], done.stderr
    with open(data_dir / "baton.toml", "a") as toml:
        toml.write(f'\n[audit]\ncloudevents_source = "{value}"\n')
    done = cli("audit", "verify")
    assert done.returncode == 2 and "audit.cloudevents_source" in done.stderr, done.stderr
