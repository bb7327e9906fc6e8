"""Error answers shared by every page and the API (carebook/web.py)."""
from __future__ import annotations

from werkzeug.routing import IntegerConverter, PathConverter

#: Values that make every rule of the url map buildable.
_SAMPLE = {"export_type": "csv", "valid_from": "2026-06-02", "on_date": "2026-06-02"}


def _every_path(app) -> list[str]:
    adapter = app.url_map.bind("localhost")
    paths = set()
    for rule in app.url_map.iter_rules():
        values = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                values[name] = 1
            elif isinstance(converter, PathConverter):
                values[name] = "app.css"
            else:
                values[name] = _SAMPLE.get(name, "x")
        paths.add(adapter.build(rule.endpoint, values, method=next(iter(rule.methods)), append_unknown=False))
    return sorted(paths)


def _allowed(response) -> set[str]:
    return {method.strip() for method in response.headers.get("Allow", "").split(",") if method.strip()}


def test_every_405_names_the_methods_the_address_allows(app, client):
    adapter = app.url_map.bind("localhost")
    paths = _every_path(app)
    assert len(paths) > 80
    for path in paths:
        response = client.put(path)
        assert response.status_code == 405, path
        assert _allowed(response) == set(adapter.allowed_methods(path)), path


def test_a_page_answers_405_with_its_page_and_the_allow_header(client):
    response = client.get("/logout")
    assert response.status_code == 405 and "<html" in response.get_data(as_text=True)
    assert _allowed(response) == {"POST", "OPTIONS"}


def test_the_api_answers_405_in_json_with_the_allow_header(client):
    response = client.get("/api/session")
    assert response.status_code == 405
    assert response.get_json() == {"error": {"code": "method_not_allowed", "message": "That action is not allowed here."}}
    assert _allowed(response) == {"POST", "DELETE", "OPTIONS"}
    assert _allowed(client.delete("/api/appointments")) == {"GET", "HEAD", "POST", "OPTIONS"}
