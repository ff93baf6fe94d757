"""Retention (LEADBOT_RETENTION_DAYS): conversations idle for longer than N days are removed.

A daily job (`privacy.retention`, on the jobs queue; it schedules its next run itself, and runs
once when the server starts) removes each conversation whose last activity (`updated_at`: a
message, an agent's action, a change of owner) is older than N days, with everything it holds
(bot/privacy/erase.py `remove_idle_conversations`, which checks each is still idle once its turn
locks are held). A lead left with no conversation is erased entirely, as an erasure would. One
audit entry per run says how many records of each kind went (`retention.purged`); no ids.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from bot.jobs import Job, Jobs, Retry
from bot.models import Lead
from bot.privacy.access import PRIVACY, AccessLog
from bot.privacy.erase import Erasure, Removed, Subject, subject_hash
from bot.store import Store

log = logging.getLogger(__name__)

KIND: Final = "privacy.retention"
EVERY: Final = timedelta(days=1)
BATCH: Final = 50  # conversations removed under one set of turn locks
ACTOR: Final = "retention"
# A run that fails is not retried: the next day's run (scheduled whatever happens) does its work.
RETRY: Final = Retry(attempts=1)


class Retention:
    def __init__(
        self,
        *,
        store: Store,
        erasure: Erasure,
        access: AccessLog,
        jobs: Jobs,
        clock: Callable[[], datetime],
        days: int,
    ) -> None:
        self.jobs = jobs
        self.store = store
        self.erasure = erasure
        self.access = access
        self.clock = clock
        self.days = days

    async def purge(self) -> dict[str, int]:
        """Remove what is older than the retention period; how many records of each kind went."""
        cutoff = self.clock() - timedelta(days=self.days)
        removed = Removed()
        seen: set[str] = set()
        while True:
            cursor = self.store.conversations.find(
                {"updated_at": {"$lt": cutoff}}, projection={"_id": 1, "lead_id": 1}
            ).limit(BATCH)
            batch = [doc async for doc in cursor if doc["_id"] not in seen]
            if not batch:
                break
            seen.update(doc["_id"] for doc in batch)  # never loop on one that will not go
            ids, gone = await self.erasure.remove_idle_conversations(
                [doc["_id"] for doc in batch], idle_before=cutoff
            )
            removed.merge(gone)
            for lead_id in dict.fromkeys(doc["lead_id"] for doc in batch if doc["_id"] in ids):
                await self.store.leads.update_one(
                    {"_id": lead_id}, {"$pull": {"conversation_ids": {"$in": ids}}}
                )
        await self._leads_left_alone(cutoff, removed)
        counts = removed.as_dict()
        await self.access.record(
            "retention.purged", actor=ACTOR, kind=PRIVACY, extra={"removed": counts, "days": self.days}
        )
        if counts:
            log.info("retention: removed %s", counts)
        return counts

    async def _leads_left_alone(self, cutoff: datetime, removed: Removed) -> None:
        """Leads with no conversation left and nothing new since the cutoff: erased entirely."""
        query = {"conversation_ids": {"$size": 0}, "updated_at": {"$lt": cutoff}}
        alone = [Lead.model_validate({**doc, "id": doc["_id"]}) async for doc in self.store.leads.find(query)]
        for lead in alone:
            if await self.store.conversations.find_one({"lead_id": lead.id}, projection={"_id": 1}):
                continue  # a conversation the lead's list does not show (a merge in progress)
            subject: Subject = await self.erasure.subject(lead)
            removed.merge(await self.erasure.erase_subject(subject))
            salt = secrets.token_hex(16)  # kept nowhere: the entries about it link to no one
            await self.access.pseudonymise(
                subject.lead_ids, subject.conversation_ids, subject_hash(lead.id, salt)
            )

    # -- the daily job ----------------------------------------------------------------

    async def run(self, job: Job) -> None:
        try:
            await self.purge()
        finally:  # the next run is due tomorrow whatever became of this one
            await self.schedule(self.clock() + EVERY)

    async def schedule(self, at: datetime | None = None) -> None:
        """Run at `at` (None: now). One run a day however many processes schedule it: the job's
        key is the day it runs, and a key that is pending already is replaced, not doubled."""
        day = (at or self.clock()).date().isoformat()
        await self.jobs.schedule(KIND, {}, key=f"{KIND}:{day}", run_at=at)
