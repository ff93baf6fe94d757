"""The admins' pages: the flow list, the flow editor and the audit log.

The pages are shells: `/static/admin-*.js` fills them from the JSON API under `/api/flows` and
`/api/audit` (docs/api.md, "Flows"), as text only.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from bot.auth.guards import require_role
from bot.auth.rendering import error_page, render

# The ids a flow may have (bot/flows.py `Flow.id`); anything else cannot name a flow.
FLOW_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
# The channels a flow can be bound to (`PUT /api/flows/{id}/channels`), with how the page names them.
CHANNELS: Final = (("web", "Web widget"), ("sms", "SMS"), ("whatsapp", "WhatsApp"), ("email", "Email"))


@require_role("admin", page=True)
async def admin_home(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": "/admin/flows"})


@require_role("admin", page=True)
async def flows_page(request: web.Request) -> web.Response:
    return render(request, "admin_flows.html")


@require_role("admin", page=True)
async def flow_page(request: web.Request) -> web.Response:
    flow_id = request.match_info["flow_id"]
    if not FLOW_ID.match(flow_id):
        return error_page(
            request,
            404,
            "No such flow",
            "Flow ids are lower-case letters, digits, '-' and '_'.",
            link="/admin/flows",
            link_label="Go to the flows",
        )
    return render(request, "admin_flow.html", flow_id=flow_id, channels=CHANNELS)


@require_role("admin", page=True)
async def audit_page(request: web.Request) -> web.Response:
    return render(request, "admin_audit.html")
