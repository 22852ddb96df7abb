"""How the unmodified 3.9.1 client signs in to a runfolio server with auth on, one
test per configuration (the ones that work end to end also run the main flow script,
test_flow_script.py):

- `PREFECT_API_AUTH_STRING=<user>:<runfolio key>`: REST (Basic) and the events
  websocket (the auth message's token and a Basic header) — everything recorded.
- `PREFECT_API_KEY=<key>` with `PREFECT_CLOUD_API_URL=<runfolio API URL>`: the client
  takes runfolio for Prefect Cloud; REST (Bearer) and the websocket (a bearer header,
  no auth message) — everything recorded.
- the server's `RUNFOLIO_SERVER_AUTH_STRING` as `PREFECT_API_AUTH_STRING` — everything
  recorded (test_flow_script.py).
- `PREFECT_API_KEY=<key>` alone: REST works, but the client sends the websocket no
  credential (its auth message carries the auth string, null here), so task runs,
  reported only there, are lost. A limitation of the client; the test pins it.
- no credentials: a 401 with runfolio's message, the run never starts.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.compat.conftest import PrefectUser, one_line, output_of, trouble

pytestmark = pytest.mark.compat

SCRIPT = """
import json
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context


@task
def make():
    artifact_id = create_markdown_artifact("# signed in", key="auth-md")
    return {"task_run": str(get_run_context().task_run.id), "artifact": str(artifact_id)}


@flow(name="auth-flow")
def auth_flow():
    return {"flow_run": str(get_run_context().flow_run.id), **make()}


if __name__ == "__main__":
    print("RESULT " + json.dumps(auth_flow()))
"""

# What the client logs when the events websocket refuses it (3.9.1's own words, then
# runfolio's reason).
WEBSOCKET_REFUSED = (
    "Unable to authenticate to the event stream. Please ensure the provided auth_token "
    "you are using is valid for this environment. Reason: Not authenticated: the auth "
    "message carries no token."
)


def _run(prefect_user: PrefectUser) -> tuple[dict[str, str], list[str]]:
    """Run SCRIPT; what it printed, and its output's trouble lines."""
    result = prefect_user.script("auth_flow.py", SCRIPT)
    assert result.returncode == 0, output_of(result)
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT "))
    made: dict[str, str] = json.loads(line.removeprefix("RESULT "))
    return made, trouble(result)


def test_api_key_alone_records_runs_and_artifacts_but_loses_task_runs(
    prefect_user: PrefectUser, runfolio_api: httpx.Client
) -> None:
    prefect_user.sign_in(PREFECT_API_KEY=prefect_user.server.keys[("ci-bot", "default/default")])
    made, troubles = _run(prefect_user)

    # REST: the flow run and the artifact are recorded.
    flow_run = runfolio_api.get(f"/flow_runs/{made['flow_run']}").json()
    assert flow_run["state_type"] == "COMPLETED"
    artifact = runfolio_api.get(f"/artifacts/{made['artifact']}").json()
    assert (artifact["key"], artifact["task_run_id"]) == ("auth-md", made["task_run"])

    # The websocket: refused for want of a credential, which the client says; the task
    # run it would have reported never arrives (the client has stopped sending: its
    # events were dropped before it exited, so there is nothing to wait for).
    assert len(troubles) == 2, troubles
    assert WEBSOCKET_REFUSED in troubles[0]
    assert "Service 'EventsWorker' failed with" in troubles[1]
    assert runfolio_api.get(f"/task_runs/{made['task_run']}").status_code == 404
    task_runs = runfolio_api.post("/task_runs/filter", json={})
    assert (task_runs.status_code, task_runs.json()) == (200, [])


def test_api_key_as_cloud_records_everything_with_a_clean_output(
    prefect_user: PrefectUser, runfolio_api: httpx.Client
) -> None:
    prefect_user.as_cloud_user("ci-bot")
    made, troubles = _run(prefect_user)
    assert troubles == []
    assert runfolio_api.get(f"/flow_runs/{made['flow_run']}").json()["state_type"] == "COMPLETED"
    task_run = runfolio_api.get(f"/task_runs/{made['task_run']}")
    assert task_run.status_code == 200, task_run.text
    assert task_run.json()["flow_run_id"] == made["flow_run"]
    ls = prefect_user.cli("artifact", "ls", "-o", "json")
    assert ls.returncode == 0, output_of(ls)
    assert [row["key"] for row in json.loads(ls.stdout)] == ["auth-md"]


def test_without_credentials_the_client_fails_with_401(
    prefect_user: PrefectUser, runfolio_api: httpx.Client
) -> None:
    prefect_user.sign_in()
    result = prefect_user.script("auth_flow.py", SCRIPT)
    assert result.returncode == 1, output_of(result)
    text = one_line(result.stderr)
    assert "PrefectHTTPStatusError: Client error '401 Unauthorized'" in text, output_of(result)
    assert "Not authenticated: send Authorization: Bearer <API key>." in text
    assert runfolio_api.post("/flow_runs/filter", json={}).json() == []

    ls = prefect_user.cli("artifact", "ls")
    assert ls.returncode == 1, output_of(ls)
    assert "401 Unauthorized" in one_line(ls.stderr), output_of(ls)


def test_an_unknown_key_fails_with_401(prefect_user: PrefectUser) -> None:
    known = prefect_user.server.keys[("ci-bot", "default/default")]
    prefect_user.sign_in(PREFECT_API_AUTH_STRING=f"ci-bot:{known[:-4]}xxxx")
    ls = prefect_user.cli("artifact", "ls")
    assert ls.returncode == 1, output_of(ls)
    text = one_line(ls.stderr)
    assert "401 Unauthorized" in text, output_of(ls)
    assert "Invalid API key: unknown, revoked or expired." in text


def test_a_write_key_cannot_delete(prefect_user: PrefectUser, runfolio_api: httpx.Client) -> None:
    created = runfolio_api.post("/artifacts/", json={"key": "kept", "data": "x"})
    assert created.status_code == 201, created.text
    denied = prefect_user.cli("artifact", "delete", "kept")
    assert denied.returncode == 1, output_of(denied)
    assert "403 Forbidden" in one_line(denied.stdout + denied.stderr), output_of(denied)
    assert runfolio_api.get("/artifacts/kept/latest").status_code == 200
