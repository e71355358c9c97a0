"""Notify: subscriptions, the mail outbox and SMTP delivery, the Atom feed, unsubscribe page.

Takes change events from `derive.changes`; nothing below this layer imports it.
"""
