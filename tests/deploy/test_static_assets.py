"""Static files for S3 + CloudFront: collected with content-hashed names, linked from STATIC_URL_BASE."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from carebook.app import create_app
from carebook.config import ConfigError
from carebook.static_assets import collect, hashed_name

ROOT = Path(__file__).resolve().parents[2]
CDN = "https://d1234abcd.cloudfront.net"


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Path:
    """The output of the build step, run as the Docker build runs it."""
    output = tmp_path_factory.mktemp("static-build")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "collect-static"), str(output)], check=True,
                   capture_output=True, timeout=120)
    return output


def test_the_build_step_collects_the_apps_files_and_flask_admins_bootstrap(collected):
    manifest = json.loads((collected / "manifest.json").read_text())
    app_css = manifest["static"]["app.css"]
    bootstrap = manifest["admin.static"]["bootstrap/bootstrap4/css/bootstrap.min.css"]
    assert app_css.startswith("static/app.") and app_css.endswith(".css") and app_css != "static/app.css"
    assert bootstrap.startswith("admin/bootstrap/bootstrap4/css/bootstrap.")
    source = (ROOT / "carebook" / "static" / "app.css").read_bytes()
    assert (collected / app_css).read_bytes() == source
    # The plain name is there too, so relative URLs inside stylesheets still resolve.
    assert (collected / "static" / "app.css").read_bytes() == source


def test_a_changed_file_gets_a_new_name_and_an_unchanged_one_keeps_its_name(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "site.css").write_text("body { color: black }")
    (source / "same.js").write_text("console.log(1)")
    before = collect(tmp_path / "one", {"static": (source, "static")})["static"]
    (source / "site.css").write_text("body { color: navy }")
    after = collect(tmp_path / "two", {"static": (source, "static")})["static"]
    assert before["site.css"] != after["site.css"] and before["same.js"] == after["same.js"]
    assert hashed_name("css/a.min.css", b"x").startswith("css/a.") and hashed_name("LICENSE", b"x") != "LICENSE"


def make_app(tmp_path, **env):
    return create_app(env={"CAREBOOK_ENV": "test", "SECRET_KEY": "x" * 40, "CAREBOOK_INSTANCE_PATH": str(tmp_path),
                           "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", **env})


def test_with_a_cdn_configured_pages_link_the_hashed_files_there(collected, tmp_path):
    app = make_app(tmp_path, STATIC_URL_BASE=CDN + "/", STATIC_MANIFEST=str(collected / "manifest.json"))
    manifest = json.loads((collected / "manifest.json").read_text())
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="app.css") == f"{CDN}/{manifest['static']['app.css']}"
        assert url_for("admin.static", filename="bootstrap/bootstrap4/css/bootstrap.min.css", v="4.6.2") == \
            f"{CDN}/{manifest['admin.static']['bootstrap/bootstrap4/css/bootstrap.min.css']}"
        assert url_for("static", filename="not-collected.css") == "/static/not-collected.css"
        assert url_for("auth.login") == "/login"
    page = app.test_client().get("/login").get_data(as_text=True)
    assert f'href="{CDN}/{manifest["static"]["app.css"]}"' in page
    assert f'{CDN}/{manifest["admin.static"]["bootstrap/bootstrap4/css/bootstrap.min.css"]}' in page
    assert 'href="/static/' not in page


def test_with_a_cdn_configured_the_content_security_policy_allows_files_from_it(collected, tmp_path):
    app = make_app(tmp_path, STATIC_URL_BASE=CDN + "/assets", STATIC_MANIFEST=str(collected / "manifest.json"))
    policy = dict(directive.split(" ", 1) for directive in
                  app.test_client().get("/login").headers["Content-Security-Policy"].split("; "))
    for directive in ("script-src", "style-src", "font-src"):
        assert policy[directive] == f"'self' {CDN}"
    assert policy["img-src"] == f"'self' {CDN} data:"
    assert policy["default-src"] == "'self'" and policy["connect-src"] == "'self'"


def test_without_a_cdn_the_app_serves_its_own_files(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/static/app.css"' in page
    assert client.get("/static/app.css").status_code == 200


def test_a_cdn_without_a_manifest_stops_the_app_at_start(tmp_path):
    with pytest.raises(ConfigError, match="STATIC_MANIFEST|collect-static"):
        make_app(tmp_path, STATIC_URL_BASE=CDN, STATIC_MANIFEST=str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="STATIC_URL_BASE"):
        make_app(tmp_path, STATIC_URL_BASE="cdn.example.com", STATIC_MANIFEST=str(tmp_path / "missing.json"))
