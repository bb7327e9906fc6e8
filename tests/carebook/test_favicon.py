"""Every page names the clinic's icon, and the icon is served (no 404 in every browser tab's log)."""
from __future__ import annotations

import re


def test_portal_and_console_pages_link_the_icon_and_it_is_served(app, client):
    page = client.get("/login").get_data(as_text=True)
    [href] = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    console_frame = (app.jinja_loader.get_source(app.jinja_env, "admin/staff_base.html")[0])
    assert "favicon.svg" in console_frame
