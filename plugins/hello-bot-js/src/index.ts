/**
 * The Pyrus help center's sample bot, done right: it greets the task's author and approves
 * the bot's step. Unlike the original it never fails on a task without an author or email, or
 * on comments without text (most comments Pyrus sends have none). The same bot as
 * plugins/hello-bot (Rust), reply for reply.
 */
import { BotReply, type BotRequest, exportBot } from "pyrus-plugin-sdk";

/** The bot's logic, exported for the native tests. */
export function hello(req: BotRequest): BotReply {
  const author = req.author();
  // An empty full name counts as none, like the Rust bot's `filter(|n| !n.is_empty())`.
  const who = author?.email() ?? (author?.fullName() || undefined);
  const text = who !== undefined ? `Hello, ${who}. This task approved by bot.` : "Hello. This task approved by bot.";
  return new BotReply().text(text).approve();
}

/** The component's `pyrus:plugin/bot` export (jco maps the WIT export `bot` to this name). */
export const bot = exportBot(hello);
