"""Guideline Markdown as Slack mrkdwn: every construct the converter knows, and user data escaped."""

from __future__ import annotations

from bot.slack.blocks.text import markdown_to_mrkdwn, mention, mentions

GUIDE = """# How to label
Label what the customer **needs**, not _what_ they ~~say~~ are angry about.\\
Hard break above. `code <x>` and [a link](https://ex.com/a|b>c) and [bad](javascript:x) ![img](http://i/x.png)

1. first
2. second
   - nested *em*
   - more
3. third

- bullet
> quote <!channel>

```
fenced <b>
```
---
<div>html</div>

## Sub
text with <span>inline</span> & entities
"""


def test_markdown_becomes_mrkdwn():
    assert markdown_to_mrkdwn(GUIDE) == (
        "*How to label*\n\n"
        "Label what the customer *needs*, not _what_ they ~say~ are angry about.\n"
        "Hard break above. `code &lt;x&gt;` and <https://ex.com/a%7Cb%3Ec|a link> and [bad](javascript:x) img\n\n"
        "1. first\n2. second\n    • nested _em_\n    • more\n3. third\n\n"
        "• bullet\n\n"
        "> quote &lt;!channel&gt;\n\n"
        "```\nfenced &lt;b&gt;\n```\n\n"
        "───\n\n"
        "&lt;div&gt;html&lt;/div&gt;\n"
        "*Sub*\n\n"
        "text with &lt;span&gt;inline&lt;/span&gt; &amp; entities"
    )


def test_mentions_of_users_and_groups():
    assert mention("U0A") == "<@U0A>" and mention("S0G") == "<!subteam^S0G>"
    assert mentions(["U0A", "S0G"]) == "<@U0A> <!subteam^S0G>"
