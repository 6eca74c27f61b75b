"""Posting to Slack from background work: one Slack poster that every post goes through
(pacing, retries, idempotency by message metadata), and small posters per kind of message:
items, escalation threads, audits, reminders, digests."""
