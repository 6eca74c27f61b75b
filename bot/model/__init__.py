"""The project's model in the bot: training it (``training``), scoring items and ranking them for
dispatch (``scoring``), and starting training in its own process when enough labels arrived
(``launcher``). The machine learning itself, without a database, is ``bot.learning``.

Nothing is imported here: the launcher runs in the server, which must not load scikit-learn.
"""
