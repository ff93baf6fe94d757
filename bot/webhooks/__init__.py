"""CRM webhooks: lead events, signed and mapped, to the endpoints admins configure.

- `signing`: the `Leadbot-Signature` header, and `verify` for receivers.
- `payload`: the `leadbot` JSON of an event; `mapping`: presets (HubSpot, Salesforce) and overrides.
- `endpoints`, `deliveries`: the records, in `webhook_endpoints` and `webhook_deliveries`.
- `sender`: one signed POST; `service`: events to deliveries, in order, retried as jobs.
- `api`, `web`: `/api/webhooks` and the admin page `/admin/webhooks`.

docs/webhooks.md is the receivers' side of all this.
"""
