"""Static files from S3 + CloudFront: collected with content-hashed names, served from STATIC_URL_BASE.

Build step (`scripts/collect-static OUTPUT`, run in the Docker build): every file of the
app's static folder and of Flask-Admin's (Bootstrap 4 and the console's scripts) is
copied to OUTPUT twice, under its own name and under a name with a hash of its content
(``app.css`` -> ``static/app.3f2a9c1d0b.css``), and ``manifest.json`` maps one to the
other. The hashed copies can be cached for ever; the plain copies keep the relative URLs
inside stylesheets (fonts, images) working. The deployment uploads OUTPUT to the bucket.

At run time, with STATIC_URL_BASE set (the CloudFront address), ``url_for('static', ...)``
and ``url_for('admin.static', ...)`` give ``STATIC_URL_BASE/<hashed name>`` from the manifest
(STATIC_MANIFEST, default ``static-build/manifest.json`` beside the code). Without it, Flask
serves the files itself, as in development, compressed (Flask-Compress: brotli, zstd or deflate, as the
browser asks): Bootstrap's stylesheet goes from 162 KB to about 25 KB. Only stylesheets,
scripts and SVG are compressed: HTML pages carry a CSRF token next to what people typed, and
compressing those would open them to BREACH-style guessing.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Callable, Mapping

from flask import Flask
from flask_compress import Compress

from carebook.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT / "static-build" / "manifest.json"
MANIFEST_NAME = "manifest.json"
HASH_LENGTH = 10
#: What Flask-Compress may compress: static text only, never HTML or JSON (see the module's docstring).
COMPRESSED_TYPES = ["text/css", "text/javascript", "application/javascript", "image/svg+xml"]


def static_sources() -> dict[str, tuple[Path, str]]:
    """endpoint -> (folder on disk, prefix in the bucket) of every static folder the pages use."""
    import flask_admin

    return {
        "static": (ROOT / "carebook" / "static", "static"),
        "admin.static": (Path(flask_admin.__file__).resolve().parent / "static", "admin"),
    }


def hashed_name(path: str, content: bytes) -> str:
    """``css/app.css`` -> ``css/app.<hash>.css``."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    folder, _, name = path.rpartition("/")
    stem, dot, suffix = name.partition(".")
    hashed = f"{stem}.{digest}.{suffix}" if dot else f"{stem}.{digest}"
    return f"{folder}/{hashed}" if folder else hashed


def collect(output: Path, sources: Mapping[str, tuple[Path, str]] | None = None) -> dict[str, dict[str, str]]:
    """Copy every source file to ``output`` (plain and hashed) and write the manifest; returns it."""
    output = Path(output)
    manifest: dict[str, dict[str, str]] = {}
    for endpoint, (folder, prefix) in (sources or static_sources()).items():
        entries = manifest[endpoint] = {}
        for source in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            relative = source.relative_to(folder).as_posix()
            content = source.read_bytes()
            hashed = f"{prefix}/{hashed_name(relative, content)}"
            for name in (f"{prefix}/{relative}", hashed):
                target = output / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            entries[relative] = hashed
    (output / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


class StaticUrls:
    """Build URLs of static files on the CDN from the manifest."""

    def __init__(self, base_url: str, manifest: Mapping[str, Mapping[str, str]]):
        self.base_url = base_url.rstrip("/")
        self.manifest = manifest

    def url(self, endpoint: str, filename: str) -> str | None:
        """The CDN URL of ``filename``; None if the manifest does not know it (Flask then serves it)."""
        name = self.manifest.get(endpoint, {}).get(filename)
        return f"{self.base_url}/{name}" if name else None


def init_app(app: Flask, env: Mapping[str, str]) -> None:
    """With STATIC_URL_BASE, static URLs point at the CDN; see the module's docstring."""
    base_url = env.get("STATIC_URL_BASE", "").strip()
    app.config["STATIC_URL_BASE"] = base_url or None
    if not base_url:
        app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
        Compress(app)
        return
    if not base_url.startswith(("https://", "http://")):
        raise ConfigError("STATIC_URL_BASE must be an http(s) URL such as https://d1234.cloudfront.net, "
                          f"got {base_url!r}")
    manifest_path = Path(env.get("STATIC_MANIFEST") or DEFAULT_MANIFEST)
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"STATIC_URL_BASE is set but the static manifest {manifest_path} cannot be read "
                          f"({error}); run scripts/collect-static first, or set STATIC_MANIFEST") from None
    urls = StaticUrls(base_url, manifest)
    app.extensions["static_urls"] = urls
    _route_static_urls_to_cdn(app, urls)


def _route_static_urls_to_cdn(app: Flask, urls: StaticUrls) -> None:
    # Flask builds every URL through app.url_for (templates, Flask-Admin's get_url, views),
    # so wrapping it covers all static links without touching a template.
    build: Callable[..., str] = app.url_for

    def url_for(endpoint: str, **values) -> str:
        filename = values.get("filename")
        if filename is not None and endpoint in urls.manifest:
            cdn_url = urls.url(endpoint, filename)
            if cdn_url is not None:
                return cdn_url  # the hash replaces any ?v= cache-buster
        return build(endpoint, **values)

    app.url_for = url_for  # type: ignore[method-assign]
    app.jinja_env.globals["url_for"] = url_for
