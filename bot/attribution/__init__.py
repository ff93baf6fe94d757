"""Where leads come from and what they are worth: touchpoints, conversions, attribution.

- touchpoints.py: the `touchpoints` collection (widget visits, SMS/WhatsApp/email starts).
- visits.py: the widget's `visit` frame, read and checked.
- conversions.py: marking a lead converted (with a value) or lost (with a reason).
- models.py: the attribution models, pure functions (docs/attribution.md).
- report.py: conversions and value credited to sources or campaigns.
- api.py, web.py: the API routes and the wiring into the app.
"""
