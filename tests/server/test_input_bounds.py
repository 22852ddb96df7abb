"""Numbers past what the database holds, and values of the wrong JSON type, are refused
at the edge with a 422 naming the field and the bound: never a 500, never a write."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Api

BIG = 2**63  # one past the largest signed 64-bit integer
MAX_OFFSET = 2**31 - 1
LEVEL_BOUNDS = (-(2**31), 2**31 - 1)

# Every route that pages, with a body it otherwise accepts.
PAGED = [
    ("/artifacts/filter", {}),
    ("/artifacts/latest/filter", {}),
    ("/flows/filter", {}),
    ("/flow_runs/filter", {}),
    ("/task_runs/filter", {}),
    ("/logs/filter", {"logs": {"flow_run_id": {"any_": ["00000000-0000-4000-8000-000000000001"]}}}),
]
COUNTS = ["/artifacts/count", "/artifacts/latest/count"]


def _only_error(r: Any) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["exception_message"] == "Invalid request received."
    (err,) = out["exception_detail"]
    assert isinstance(err, dict)
    return err


@pytest.fixture
def seeded(arts: Api) -> Api:
    arts.create(key="k", type="markdown", data="# kept")
    return arts


@pytest.mark.parametrize("path,body", PAGED)
@pytest.mark.parametrize("offset", [BIG, MAX_OFFSET + 1, 10**100])
def test_offset_past_the_bound(seeded: Api, path: str, body: dict[str, Any], offset: int) -> None:
    before = seeded.snapshot()
    err = _only_error(seeded.post(path, json={**body, "offset": offset}))
    assert err["loc"] == ["body", "offset"]
    assert err["type"] == "less_than_equal"
    assert str(MAX_OFFSET) in err["msg"]
    assert seeded.snapshot() == before


@pytest.mark.parametrize("path,body", PAGED)
def test_largest_offset_is_an_empty_page(seeded: Api, path: str, body: dict[str, Any]) -> None:
    r = seeded.post(path, json={**body, "offset": MAX_OFFSET})
    assert (r.status_code, r.json()) == (200, [])


@pytest.mark.parametrize("path,body", PAGED)
@pytest.mark.parametrize("limit", [BIG, -BIG - 1, 10**100])
def test_limit_past_the_bound(seeded: Api, path: str, body: dict[str, Any], limit: int) -> None:
    before = seeded.snapshot()
    r = seeded.post(path, json={**body, "limit": limit})
    assert r.status_code == 422, r.text
    bound = "less than or equal to 200" if limit > 0 else "greater than or equal to 0"
    assert r.json() == {"detail": f"Invalid limit: must be {bound}."}
    assert seeded.snapshot() == before


@pytest.mark.parametrize("path,body", PAGED)
@pytest.mark.parametrize(
    "field,value,err_type",
    [
        ("offset", False, "int_type"),
        ("offset", True, "int_type"),
        ("offset", "1", "int_type"),
        ("offset", 1.5, "int_from_float"),
        ("limit", False, "int_type"),
        ("limit", "5", "int_type"),
    ],
)
def test_paging_numbers_must_be_json_integers(
    seeded: Api, path: str, body: dict[str, Any], field: str, value: Any, err_type: str
) -> None:
    # `false` is not 0: a bool (or a numeric string) is refused, not coerced.
    err = _only_error(seeded.post(path, json={**body, field: value}))
    assert err["loc"] == ["body", field]
    assert err["type"] == err_type


@pytest.mark.parametrize("path,body", PAGED)
def test_a_number_without_a_fraction_is_an_integer(
    seeded: Api, path: str, body: dict[str, Any]
) -> None:
    # JSON Schema's `integer` includes 1.0, so the document allows it.
    r = seeded.post(path, json={**body, "limit": 1.0, "offset": 0.0})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path", COUNTS)
def test_counts_ignore_paging_keys_whatever_their_size(seeded: Api, path: str) -> None:
    # Count bodies have no paging: unknown top-level keys are ignored (contract §3.3).
    r = seeded.post(path, json={"offset": BIG, "limit": BIG})
    assert (r.status_code, r.json()) == (200, 1)


@pytest.mark.parametrize(
    "path,body,loc",
    [
        ("/artifacts/count", {"artifacts": {"key": {"exists_": 0}}}, ["key", "exists_"]),
        ("/artifacts/filter", {"artifacts": {"key": {"exists_": "true"}}}, ["key", "exists_"]),
        ("/flows/filter", {"flows": {"tags": {"is_null_": 1}}}, ["tags", "is_null_"]),
        (
            "/task_runs/filter",
            {"flow_runs": {"created_by": {"is_null_": 0}}},
            ["created_by", "is_null_"],
        ),
        (
            "/flow_runs/filter",
            {"flow_runs": {"start_time": {"after_": 0}}},
            ["start_time", "after_"],
        ),
    ],
)
def test_filter_criteria_are_not_coerced(
    seeded: Api, path: str, body: dict[str, Any], loc: list[str]
) -> None:
    err = _only_error(seeded.post(path, json=body))
    assert err["loc"] == ["body", next(iter(body)), *loc]


def _log(run_id: str, **over: Any) -> dict[str, Any]:
    line = {
        "name": "runfolio",
        "level": 20,
        "message": "m",
        "timestamp": "2026-11-26T20:27:25.081153Z",
        "flow_run_id": run_id,
    }
    return {**line, **over}


@pytest.mark.parametrize(
    "level,err_type",
    [
        (BIG, "less_than_equal"),
        (LEVEL_BOUNDS[1] + 1, "less_than_equal"),
        (LEVEL_BOUNDS[0] - 1, "greater_than_equal"),
        (-BIG - 1, "greater_than_equal"),
        (True, "int_type"),
        ("20", "int_type"),
    ],
)
def test_log_level_past_the_column(arts: Api, level: Any, err_type: str) -> None:
    run = arts.flow_run(arts.flow()["id"])
    lines = [_log(run["id"]), _log(run["id"], level=level)]
    err = _only_error(arts.post("/logs/", json=lines))
    assert err["loc"] == ["body", 1, "level"]
    assert err["type"] == err_type
    query = {"logs": {"flow_run_id": {"any_": [run["id"]]}}}
    assert arts.post("/logs/filter", json=query).json() == []  # the valid line was not written


def test_log_level_bounds_are_stored(arts: Api) -> None:
    run = arts.flow_run(arts.flow()["id"])
    lines = [_log(run["id"], level=level) for level in LEVEL_BOUNDS]
    assert arts.post("/logs/", json=lines).status_code == 201
    query = {"logs": {"flow_run_id": {"any_": [run["id"]]}}}
    got = arts.post("/logs/filter", json=query).json()
    assert sorted(line["level"] for line in got) == list(LEVEL_BOUNDS)


@pytest.mark.parametrize("timestamp", [0, 1_700_000_000, True])
def test_log_timestamp_must_be_a_string(arts: Api, timestamp: Any) -> None:
    run = arts.flow_run(arts.flow()["id"])
    err = _only_error(arts.post("/logs/", json=[_log(run["id"], timestamp=timestamp)]))
    assert err["loc"] == ["body", 0, "timestamp"]


@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "0.8." + "9" * 5000, "1" * 20 + ".0.0", "0.8.0" + "0" * 5000],
)
def test_huge_api_version_header_is_400(seeded: Api, value: str) -> None:
    before = seeded.snapshot()
    r = seeded.post("/artifacts/", json={"key": "new"}, headers={"X-PREFECT-API-VERSION": value})
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert detail.startswith("Invalid X-PREFECT-API-VERSION header")
    assert len(detail) < 300  # the value is not echoed whole
    assert seeded.snapshot() == before


def test_long_but_plausible_api_versions_still_compare(arts: Api) -> None:
    url = "/artifacts/count"
    assert arts.post(url, headers={"X-PREFECT-API-VERSION": "0.8.123456789"}).status_code == 200
    old = arts.post(url, headers={"X-PREFECT-API-VERSION": "0.7.999999999"})
    assert old.status_code == 400 and "requires version 0.8.0" in old.json()["detail"]
