"""Mounts the admin pages on the app."""

from __future__ import annotations

from aiohttp import web


def setup_admin(app: web.Application) -> None:
    """Add the admin pages' routes (the JSON they use lives under /api/flows)."""
    del app  # the pages land with the editor
