"""The HTTP access log, without query strings.

aiohttp's default access log writes each request line whole. Ours carry personal data and secrets
in their query strings: an admin's lead search (`?q=jane@example.com`), a widget's visitor token
(`/ws/chat?token=…`), the email webhook's key (`?key=…`). So the log keeps the path and says
whether there was a query, never what it held.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        query = "?…" if request.query_string else ""
        self.logger.info(
            '%s "%s %s%s" %s %s %.1fms',
            request.remote,
            request.method,
            request.path,
            query,
            response.status,
            response.body_length,
            time * 1000,
        )
