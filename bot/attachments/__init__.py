"""Attachments: files that come with messages (MMS, WhatsApp media), kept in the database.

- files.py: the limits (size, types) and the `attachments` collection of bytes.
- links.py: signed, expiring links for those who are not agents (visitors, Twilio).
- web.py: `GET /attachments/{id}`, served so a browser never runs what it holds.
"""
