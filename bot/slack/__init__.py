"""The Slack edge: everything that speaks Slack (the Bolt app, listeners, Block Kit builders,
posters, the HTTP transport and responder, App Home, the emulator). Nothing outside this
package imports Slack libraries, except the wiring in ``bot/cli.py`` and ``bot/serve.py``."""
