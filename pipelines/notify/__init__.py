"""Notify: subscriptions, the mail outbox and SMTP delivery, the Atom feed, unsubscribe page.

Takes change events from `derive.changes`; nothing below this layer imports it.
Modules: `subscriptions` (subscribers, outbox rows), `digest` (the mail), `delivery` (SMTP,
at most once), `unsubscribe` (the endpoint), `feed` (Atom), `text` (text for people);
`alerts` gathers the public names.
"""
