"""`POST /ws/chat/upload?token=…`: a visitor sends files from the widget.

The visitor token (the widget's bearer secret) says which conversation; the same size and
type limits as agents' files apply. The response is the ack the socket would give, plus the
stored files as signed links, so the widget can show them at once.
"""

from __future__ import annotations

import json

from aiohttp import web

from bot import keys
from bot.api.errors import ApiError, json_error
from bot.api.uploads import is_multipart, read_form, save_uploads
from bot.models import Inbound
from bot.privacy.consent import CONSENT_REQUIRED, consent_missing
from bot.rate_limits import Rule, retry_seconds
from bot.store import NotFound, new_id
from channels.web_access import origin_allowed, visitor_link


async def visitor_upload(request: web.Request) -> web.Response:
    if not origin_allowed(request):
        return json_error(403, "this origin may not send files to the chat", "origin_not_allowed")
    token = request.query.get("token")
    convs = request.app[keys.CONVERSATIONS]
    conv = await convs.resume(token) if token else None
    if conv is None:
        return json_error(404, "no conversation for this visitor token", "not_found")
    if await consent_missing(convs, conv):  # the flow requires consent first (docs/privacy.md)
        return json_error(403, "accept the consent text before sending files", CONSENT_REQUIRED)
    if not is_multipart(request):
        return json_error(415, "send multipart/form-data with one or more 'file' parts")
    # A file is a message: it counts against the conversation's message limit, before it is read.
    wait = await request.app[keys.RATE_LIMITS].hit(Rule.MESSAGES, conv.id)
    if wait is not None:
        seconds = retry_seconds(wait)
        refused = json_error(
            429, f"too many messages in this conversation; try again in {seconds} s", "rate_limited"
        )
        refused.headers["Retry-After"] = str(seconds)
        return refused
    files = request.app[keys.ATTACHMENTS]
    try:
        form = await read_form(request, files)
        if not form.files:
            raise ApiError(422, "choose a file to send")
        text = form.text.strip()
        if len(text) > request.app[keys.SETTINGS].max_message_chars:
            raise ApiError(413, "the text is too long")
        saved = await save_uploads(files, conv.id, form.files)
    except ApiError as exc:
        return json_error(exc.status_code, exc.detail, exc.code)
    client_id = form.client_id or new_id()
    inbound = Inbound(
        channel="web", conversation_id=conv.id, text=text, client_id=client_id, attachments=saved
    )
    try:
        stored, is_new = await convs.receive(inbound)
    except NotFound:  # erased while the files were on their way (docs/privacy.md)
        await files.discard(saved)
        return json_error(404, "this conversation was removed", "not_found")
    if not is_new:
        await files.discard(saved)  # a retried upload: the first copy stands
    link = visitor_link(request.app)
    body = {
        "type": "ack",
        "id": client_id,
        "seq": stored.seq,
        "attachments": [
            {"name": a.filename, "type": a.content_type, "size": a.size, "url": link(a)}
            for a in stored.attachments
        ],
    }
    return web.Response(status=201 if is_new else 200, text=json.dumps(body), content_type="application/json")
