"""Notifications of deployments and rollbacks: one message, one way to deliver it.

`messages` builds what a webhook receives and `delivery` POSTs it once and says when to try
again. Both senders use them — the API server's outbox (each app's webhooks) and the pipeline's
exit handler (the administrator's ROLLWAY_NOTIFY_WEBHOOKS) — so neither words, sends or retries a
message its own way. Imports nothing above `destinations` and `errors`.
"""
