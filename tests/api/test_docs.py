"""The documentation pages work offline: Swagger UI and ReDoc load their scripts from the
service itself (never a CDN), and render the API's operations in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from creditscore.serving.app import create_app

from .conftest import TestClient
from .helpers import make_settings, running

#: src= / href= of a page: every one must be on the service itself.
_LINKS = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""")
_URLS = re.compile(r"""url:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_service(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    links = _LINKS.findall(r.text) + _URLS.findall(r.text)
    assert "/openapi.json" in links
    assert len(links) >= 3, links
    for link in links:
        assert link.startswith("/"), f"{page} loads {link} from outside the service"
        got = client.get(link)
        assert got.status_code == 200, link
        assert len(got.content) > 100, link
    assert any(x.endswith(".js") for x in links)


def test_docs_assets_are_a_fixed_list(client: TestClient) -> None:
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "max-age" in js.headers["cache-control"]
    for name in ("nope.js", "..%2F__init__.py", "core.py"):
        assert client.get(f"/docs/assets/{name}").status_code == 404, name
    assert "/docs" not in client.get("/openapi.json").json()["paths"]


def test_docs_follow_a_proxy_prefix(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(tmp_path), trained.bundle)
    with TestClient(app, root_path="/scoring") as c:
        text = c.get("/docs").text
    assert "'/scoring/openapi.json'" in text
    assert "/scoring/docs/assets/swagger-ui-bundle.js" in text


def _dom(url: str, chromium: str) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", f"--user-data-dir={profile}",
             "--virtual-time-budget=15000", "--dump-dom", url],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_docs_render_the_operations_in_headless_chromium(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With background networking off, as on a machine that reaches no CDN."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    app = create_app(make_settings(tmp_path), trained.bundle, model_version="1")
    with running(app) as url:
        swagger = _dom(f"{url}/docs", chromium)
        redoc = _dom(f"{url}/redoc", chromium)
    for path in ("/v1/decisions", "/v1/decisions/batch", "/v1/fairness", "/v1/admin/reload"):
        assert f'data-path="{path}"' in swagger, path  # Swagger UI drew the operation
        assert path in redoc, path
    assert "Decide on one application" in redoc  # ReDoc drew the operation's summary
