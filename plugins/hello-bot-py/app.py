"""The Pyrus help center's sample bot, in Python: it greets the task's author and approves
the bot's step. Like the Rust hello-bot, it never fails on a task without an author or
email, or on comments without text."""

from pyrus_plugin import BotReply, BotRequest, CallInfo, export_bot


@export_bot
def handle(req: BotRequest, call: CallInfo) -> BotReply:
    author = req.author
    who = (author.email or author.full_name or None) if author else None
    text = f"Hello, {who}. This task approved by bot." if who else "Hello. This task approved by bot."
    return BotReply().text(text).approve()
