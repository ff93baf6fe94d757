"""What a channel adapter is, and the registry the send path looks adapters up in.

An adapter owns its routes (webhooks, sockets), turns what arrives into `Inbound`
messages for `Conversations.receive`, and delivers stored messages in `send`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from aiohttp import web

if TYPE_CHECKING:
    from bot.models import Conversation, Message


class Channel(Protocol):
    name: ClassVar[str]

    def routes(self) -> list[web.RouteDef]:
        """The webhooks or sockets this channel serves."""
        ...

    async def send(self, conv: Conversation, msg: Message) -> str | None:
        """Deliver a stored message; returns the provider's message id if there is one."""
        ...


class ChannelRegistry:
    def __init__(self, channels: list[Channel] | None = None) -> None:
        self._channels: dict[str, Channel] = {}
        for channel in channels or []:
            self.add(channel)

    def add(self, channel: Channel) -> None:
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} registered twice")
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def routes(self) -> list[web.RouteDef]:
        return [route for channel in self._channels.values() for route in channel.routes()]

    def names(self) -> list[str]:
        return sorted(self._channels)
