"""JSON values through the API on both databases: kept as sent, NaN answered as null."""

from __future__ import annotations

import json

from tests.server.conftest import Api


def _post_raw(api: Api, path: str, body: str) -> dict[str, object]:
    r = api.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    answer: dict[str, object] = r.json()
    return answer


def test_nan_in_run_parameters_is_stored_and_answered_as_null(arts: Api) -> None:
    # Not JSON (PostgreSQL's json refuses it), but Python's parser reads it from a body.
    flow = arts.flow()
    body = '{"flow_id": "FLOW", "parameters": {"b": NaN, "a": [Infinity, 1]}}'
    body = body.replace("FLOW", str(flow["id"]))
    run = _post_raw(arts, "/flow_runs/", body)
    read = arts.get(f"/flow_runs/{run['id']}").json()
    assert read["parameters"] == {"b": None, "a": [None, 1]}
    assert list(read["parameters"]) == ["b", "a"]


def test_table_columns_and_escapes_come_back_as_sent(arts: Api) -> None:
    table = [{"zeta": "a\u0000b", "alpha": 10**30, "mid": "\u2028ä"}]
    made = arts.create(key="t", type="table", data=table, metadata_={"z": "1", "a": "2"})
    raw = arts.read(made["id"]).text
    assert '[{"zeta":"a\\u0000b","alpha":1000000000000000000000000000000,' in raw.replace(" ", "")
    read = json.loads(raw)
    assert read["data"] == table
    assert list(read["data"][0]) == ["zeta", "alpha", "mid"]
    assert list(read["metadata_"]) == ["z", "a"]
