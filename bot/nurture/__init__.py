"""Nurture: follow-ups to leads who go silent, and score decay for leads who stay silent (docs/nurture.md).

- schema.py: the flow's `nurture` and `decay` sections; duration.py: "1h", "3d".
- timing.py: when a follow-up may go (quiet hours, business hours).
- records.py: what the follow-ups and the decay of each conversation and lead have done so far.
- follow_ups.py: scheduling on lead events, and each step at run time.
- decay.py: lowering the score of a silent lead, with the reason in its history.
- setup.py: `setup_nurture(app)`: the job handlers and the lead-event listener.

Kept light: `bot.flows` imports schema.py, so nothing here imports the services at package level.
"""
