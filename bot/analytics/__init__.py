"""Analytics for admins (`/admin/analytics`, `GET /api/analytics`): the funnel and its breakdowns,
drop-off per question, response and wait times, handoff outcomes, lead scores and attribution.

Everything is computed by aggregation pipelines (`pipelines.py`) that stay within what the
embedded store (mongomock) supports as well as MongoDB; docs/analytics.md defines each number.
"""
