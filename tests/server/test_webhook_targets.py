"""RUNFOLIO_WEBHOOK_ALLOW_PRIVATE off: private targets are refused when a webhook is
made (an address written as one) and when it is called (a name resolving to one)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from runfolio.server.app import create_app
from runfolio.settings import Settings
from runfolio.store.engine import dispose_engines


def test_private_targets_are_refused_when_forbidden(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path / "home", webhook_allow_private=False, webhook_poll_seconds=0.05
    )
    with TestClient(create_app(settings)) as api:
        for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://10.0.0.5/x"):
            refused = api.post("/api/webhooks/", json={"name": "n", "url": url})
            assert refused.status_code == 422, refused.text
            (error,) = refused.json()["exception_detail"]
            assert (
                error["loc"] == ["body", "url"] and "RUNFOLIO_WEBHOOK_ALLOW_PRIVATE" in error["msg"]
            )
        assert api.get("/api/webhooks/").json() == []
        # Other spellings are checked when called: `127.1` resolves to 127.0.0.1.
        made = api.post("/api/webhooks/", json={"name": "n", "url": "http://127.1:9/x"})
        assert made.status_code == 201, made.text
        hook = made.json()
        moved = api.patch(f"/api/webhooks/{hook['id']}", json={"url": "http://10.0.0.1/"})
        assert moved.status_code == 422
        assert api.post(f"/api/webhooks/{hook['id']}/test").status_code == 202
        deadline = time.monotonic() + 10
        while (found := api.get(f"/api/webhooks/{hook['id']}/deliveries").json())[0][
            "status"
        ] == "pending":
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
        (delivery,) = found
        assert delivery["status"] == "failed" and delivery["attempts"] == 1
        assert "refused" in delivery["last_error"] and delivery["last_status_code"] is None
    dispose_engines()
