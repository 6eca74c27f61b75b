"""Block Kit builders: pure functions from domain values to Slack messages, modals and views.

User data is escaped and cut to Block Kit's limits here (``text``), and nowhere else.
"""
