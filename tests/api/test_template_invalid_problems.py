"""A goal a template matches whose plan is invalid (here a cycle) answers 422
``template_invalid`` with the plan's problems as ``details``, in the shape of a request's
validation errors (``loc``, ``msg``, ``type``), as ``baton plan`` lists them: the message
says only how many there are. Over each store in turn (SQLite, then PostgreSQL)."""

from __future__ import annotations

import httpx

from baton.services import Services

from .live import make_settings, serve, token_of

CYCLE = ("name: cyc\nexample_goals: [cyc a]\npatterns: ['cyc a']\nplan: {steps: ["
         "{id: a, tool: files.read, args: {path: {ref: b.text}}},"
         " {id: b, tool: files.read, args: {path: {ref: a.text}}}]}\n")


def test_a_template_invalid_error_lists_the_plans_problems(db_url, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "cyc.v1.yaml").write_text(CYCLE)
    services = Services(make_settings(tmp_path, database_url=db_url,
                                      templates_dir=tmp_path / "templates"))
    live = serve(services)
    try:
        with httpx.Client(base_url=live.url + "/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {token_of('alice')}"}) as client:
            response = client.post("/plans", json={"goal": "cyc a", "planner": "template"})
            stored = client.get("/plans").json()
    finally:
        live.stop()
        services.engine.dispose()
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "template_invalid" and "fix the template" in error["message"]
    [plan] = stored
    assert plan["status"] == "invalid"
    details = error["details"]
    assert "cycle" in {d["type"] for d in details}
    assert all(set(d) == {"loc", "msg", "type"} and d["loc"][0].startswith("$") and d["msg"]
               for d in details)
