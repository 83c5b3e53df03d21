"""The commands users type and the buttons they press, one module per command group.

- ``welcome``: /start, /help;
- ``subscriptions``: /follow, /unfollow, /list, /latest, /share;
- ``settings``: /digest, /instant, /quiet, /timezone, /pause, /resume, /language, /settings;
- ``operators``: /stats, /sources (operators only, in their private chats);
- ``membership``: the bot added to, removed from, blocked or unblocked in a chat;
- ``buttons``: presses of the inline buttons;
- ``registration``: which handler answers what, unknown commands, plain text, group
  migrations, and the command menu.

Every chat handler is ``@for_chat`` (``request``): handed its remembered chat, its language
and the group admin rule, it answers at once in the chat's language and never raises on user
input: bad input gets a reply that says what was wrong and what to type.  In groups, only
administrators may change what the group receives.
"""

from bot.handlers.registration import bot_commands, publish_commands, register, slow_down
from bot.handlers.request import lang_of

__all__ = ["bot_commands", "lang_of", "publish_commands", "register", "slow_down"]
