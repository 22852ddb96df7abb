from fastapi.testclient import TestClient

from tests.servers import ServerProcess


def test_create_then_read_back(api: TestClient) -> None:
    body = {"key": "k", "type": "markdown", "description": "d", "data": "# hi"}
    created = api.post("/api/artifacts/", json=body)
    assert created.status_code == 201
    got = api.get(f"/api/artifacts/{created.json()['id']}")
    assert got.status_code == 200
    assert {k: got.json()[k] for k in body} == body


def test_real_server_process_answers(server: ServerProcess) -> None:
    import httpx

    r = httpx.post(f"{server.api_url}/artifacts/", json={"key": "x", "type": "progress", "data": 5.0})
    assert r.status_code == 201
    assert httpx.post(f"{server.api_url}/artifacts/count").json() == 1
