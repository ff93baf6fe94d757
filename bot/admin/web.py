"""Mounts the admin pages on the app."""

from __future__ import annotations

from aiohttp import web

from bot.admin.pages import admin_home, audit_page, flow_page, flows_page


def setup_admin(app: web.Application) -> None:
    """Add the admin pages' routes (the JSON they use lives under /api/flows and /api/audit)."""
    app.add_routes(
        [
            web.get("/admin", admin_home),
            web.get("/admin/flows", flows_page),
            web.get("/admin/flows/{flow_id}", flow_page),
            web.get("/admin/audit", audit_page),
        ]
    )
