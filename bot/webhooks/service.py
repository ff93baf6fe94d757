"""Lead events out to CRMs: deliveries made, sent in order, retried, redelivered by hand.

An event becomes one delivery per active endpoint subscribed to its kind, its body mapped for
that endpoint once (so a retry or a redelivery sends the same bytes). Each delivery is sent by a
`webhook.deliver` job; a failed attempt raises, and the job queue retries it with exponential
backoff (`RETRY`); the last failed attempt marks the delivery failed.

Order: a lead's deliveries to one endpoint go one at a time, oldest first. Only the oldest
pending one (the head) has a job; when it is delivered or fails for good, the next one's job is
scheduled. A job can also end failed without its handler finishing (its runs were cut short:
a process died with it): the queue's `on_failed` (`job_failed`) then fails the delivery and
moves on, and `repair`, when the app starts, gives a job to any head left without one.
Delivery is at least once: a receiver may see a delivery twice (a process died after
sending, a manual redelivery), and dedupes on the `Leadbot-Delivery` header.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp

from bot.errors import Conflict
from bot.jobs import Job, Jobs, Retry
from bot.lead_events import WEBHOOK_KINDS, LeadEvent
from bot.store import Store, new_id
from bot.webhooks.deliveries import Attempt, Deliveries, Delivery, Trigger
from bot.webhooks.endpoints import Endpoint, Endpoints
from bot.webhooks.mapping import render
from bot.webhooks.payload import event_document
from bot.webhooks.sample import sample_document
from bot.webhooks.sender import post

log = logging.getLogger(__name__)

JOB_KIND: Final = "webhook.deliver"
TEST_KIND: Final = "webhook.test"
# 10 attempts: after 1, 2, 4 … 256 minutes (±10%), about 8.5 hours in all.
RETRY: Final = Retry(attempts=10, first_delay_seconds=60.0, max_delay_seconds=6 * 3600.0, jitter=0.1)


class AttemptFailed(RuntimeError):
    """This attempt did not deliver; the job queue runs the job again after its backoff."""


def job_key(delivery_id: str) -> str:
    return f"webhook:{delivery_id}"


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class Webhooks:
    def __init__(self, store: Store, jobs: Jobs, *, clock: Callable[[], datetime]) -> None:
        self.endpoints = Endpoints(store, clock=clock)
        self.deliveries = Deliveries(store, clock=clock)
        self.jobs = jobs
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        await self.endpoints.ensure_indexes()
        await self.deliveries.ensure_indexes()
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- events in -------------------------------------------------------------------

    async def on_event(self, event: LeadEvent) -> None:
        """A lead event (LeadEvents listener): a delivery for each endpoint that wants it."""
        if event.kind not in WEBHOOK_KINDS:
            return
        endpoints = await self.endpoints.subscribed(event.kind)
        if not endpoints:
            return
        event_id = new_id()
        seq = await self.deliveries.next_seq()
        document = event_document(event_id, event)
        for endpoint in endpoints:
            await self.deliveries.add(
                endpoint_id=endpoint.id,
                event_id=event_id,
                kind=event.kind,
                lead_id=event.lead.id,
                seq=seq,
                body=encode(render(endpoint.mapping, document)),
            )
            await self._advance(endpoint.id, event.lead.id)

    async def _advance(self, endpoint_id: str, lead_id: str | None) -> None:
        """Schedule the job of the lead's oldest pending delivery to the endpoint, once."""
        if lead_id is None:
            return
        head = await self.deliveries.head(endpoint_id, lead_id)
        if head is None or not await self.deliveries.claim_scheduling(head.id):
            return
        try:
            await self.jobs.schedule(
                JOB_KIND, {"delivery_id": head.id}, key=job_key(head.id), subject=lead_id
            )
        except BaseException:
            await self.deliveries.release_scheduling(head.id)
            raise

    # -- sending ---------------------------------------------------------------------

    async def _post(self, endpoint: Endpoint, delivery: Delivery, trigger: Trigger) -> Attempt:
        if self._session is None:
            raise RuntimeError("webhooks are not open")
        now = self._clock()
        return await post(
            self._session,
            url=endpoint.url,
            body=delivery.body,
            kind=delivery.kind,
            delivery_id=delivery.id,
            secrets=endpoint.signing_secrets(now),
            now=now,
            trigger=trigger,
        )

    async def run_job(self, job: Job) -> None:
        """The `webhook.deliver` handler: one attempt; raise to be retried after the backoff."""
        delivery = await self.deliveries.find(str(job.payload.get("delivery_id")))
        if delivery is None:
            return  # its endpoint was deleted, or its lead erased
        if delivery.status != "pending":  # delivered by a manual redelivery meanwhile
            await self._advance(delivery.endpoint_id, delivery.lead_id)
            return
        endpoint = await self.endpoints.find(delivery.endpoint_id)
        if endpoint is None or not endpoint.active:
            why = "the endpoint was deleted" if endpoint is None else "the endpoint was paused"
            await self.deliveries.give_up(delivery.id, why)
            await self._advance(delivery.endpoint_id, delivery.lead_id)
            return
        attempt = await self._post(endpoint, delivery, "automatic")
        if attempt.ok:
            await self.deliveries.record(delivery.id, attempt, "delivered")
        elif job.attempt >= RETRY.attempts:
            await self.deliveries.record(delivery.id, attempt, "failed")
            log.warning("webhook delivery %s failed for good: %s", delivery.id, attempt.error)
        else:
            await self.deliveries.record(delivery.id, attempt)
            raise AttemptFailed(attempt.error or "not delivered")
        await self._advance(delivery.endpoint_id, delivery.lead_id)

    async def job_failed(self, job: Job) -> None:
        """`on_failed` of `webhook.deliver` jobs: the job ended failed without its handler
        finishing the delivery (its runs were cut short, or it raised something unexpected on
        its last run). The delivery fails with it, so the lead's next delivery can go."""
        delivery = await self.deliveries.find(str(job.payload.get("delivery_id")))
        if delivery is None:
            return
        if delivery.status == "pending":
            why = f"its delivery job failed: {job.last_error or 'no reason given'}"
            log.warning("webhook delivery %s failed for good: %s", delivery.id, why)
            await self.deliveries.give_up(delivery.id, why)
        await self._advance(delivery.endpoint_id, delivery.lead_id)

    async def repair(self) -> int:
        """When the app starts: a job for each chain's head (a lead's oldest pending delivery to
        an endpoint) that has none — its job failed where no `on_failed` could run, a Redis
        without persistence lost it, or a process died between making the delivery and
        scheduling it. Returns how many got one. Harmless beside running processes: a job
        scheduled twice under its key is one job."""
        queued = {str(job.payload.get("delivery_id")) for job in await self.jobs.pending(kind=JOB_KIND)}
        repaired = 0
        for endpoint_id, lead_id in await self.deliveries.pending_chains():
            head = await self.deliveries.head(endpoint_id, lead_id)
            if head is None or head.id in queued:
                continue
            if head.scheduled:
                await self.jobs.schedule(
                    JOB_KIND, {"delivery_id": head.id}, key=job_key(head.id), subject=lead_id
                )
            else:
                await self._advance(endpoint_id, lead_id)
            repaired += 1
        return repaired

    async def redeliver(self, delivery_id: str) -> Delivery:
        """A new attempt now, whatever the delivery's state; the earlier attempts are kept."""
        delivery = await self.deliveries.get(delivery_id)
        endpoint = await self.endpoints.get(delivery.endpoint_id)
        if not endpoint.active:
            raise Conflict("the endpoint is paused; resume it before redelivering")
        attempt = await self._post(endpoint, delivery, "manual")
        after = await self.deliveries.record(delivery.id, attempt, "delivered" if attempt.ok else None)
        if attempt.ok and delivery.status == "pending":
            await self.jobs.cancel(job_key(delivery.id))  # nothing left for its retries to do
            await self._advance(delivery.endpoint_id, delivery.lead_id)
        return after

    async def send_test(self, endpoint: Endpoint) -> Delivery:
        """A `webhook.test` event about a made-up lead, mapped as the endpoint maps, sent now."""
        event_id = new_id()
        body = encode(render(endpoint.mapping, sample_document(event_id, self._clock())))
        delivery = await self.deliveries.add(
            endpoint_id=endpoint.id,
            event_id=event_id,
            kind=TEST_KIND,
            lead_id=None,
            seq=await self.deliveries.next_seq(),
            body=body,
        )
        attempt = await self._post(endpoint, delivery, "test")
        return await self.deliveries.record(delivery.id, attempt, "delivered" if attempt.ok else "failed")

    async def delete_endpoint(self, endpoint_id: str) -> Endpoint:
        """The endpoint, its deliveries and their jobs."""
        endpoint = await self.endpoints.delete(endpoint_id)
        for delivery_id in await self.deliveries.scheduled_ids(endpoint_id):
            await self.jobs.cancel(job_key(delivery_id))
        await self.deliveries.delete_for_endpoint(endpoint_id)
        return endpoint

    async def next_attempts(self, deliveries: Iterable[Delivery]) -> dict[str, datetime]:
        """When each of these deliveries runs next (the pending ones that have a job), by
        delivery id. Read by their leads' jobs: the whole queue is never read for a page."""
        wanted = {d.id: d.lead_id for d in deliveries if d.status == "pending" and d.scheduled}
        found: dict[str, datetime] = {}
        for lead_id in {lead_id for lead_id in wanted.values() if lead_id is not None}:
            for job in await self.jobs.pending(subject=lead_id, kind=JOB_KIND):
                delivery_id = str(job.payload.get("delivery_id"))
                if delivery_id in wanted:
                    found[delivery_id] = job.run_at.astimezone(UTC)
        return found

    # -- privacy ---------------------------------------------------------------------

    async def erase(self, lead_id: str, conversation_ids: list[str]) -> None:
        await self.deliveries.erase_lead(lead_id)

    async def export(self, lead_id: str, conversation_ids: list[str]) -> list[dict[str, Any]]:
        """What was sent about the lead, to which endpoint."""
        sent = await self.deliveries.for_lead(lead_id)
        return [{**d.as_json(full=True), "body": json.loads(d.body)} for d in sent]
