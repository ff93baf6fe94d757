"""Privacy: consent in the widget, exporting and erasing a lead, retention, the access audit.

- registry.py: `Erasers` and `Exporters`, where modules that keep lead data add themselves.
- consent_step.py: the flow's `consent` section; consent.py: the widget's consent step.
- access.py: reads of lead data by agents and admins, in the audit log.
- export.py: everything about a lead as one JSON document.
- erase.py (with redis_keys.py): a lead removed everywhere; retention.py: the daily purge.
- web.py: the API routes, the admin leads page, and `setup_privacy(app)`.

docs/privacy.md describes what each does for the people whose data it is.
"""
