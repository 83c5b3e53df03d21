"""``newsbot shell``: the real bot, with the Telegram Bot API played in this process.

* ``api``: ``ShellApi`` (one chat, the updates, the messages shown) and ``ShellRequest``, the
  python-telegram-bot request class that hands every call to it;
* ``render``: Telegram HTML as terminal text, and the ``Terminal`` printed to;
* ``demo``: the demo source (sample CX Tech headlines, one more at each poll);
* ``session``: standard input to updates, and the end of input;
* ``cli``: the subcommand's options and settings, and the run.
"""
