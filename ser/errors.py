"""The one base class of the problems a user can fix.

Every stage raises its own subclass (``CorpusError``, ``CacheError``, ``ConfigError``, ...)
with a message that says what is wrong and what to change. The entry points catch
:class:`UserError` alone and print its message as one ``error: ...`` line, so a user's
mistake never ends in a traceback, and a new stage's errors need no new ``except`` clause.
"""
from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, files or settings; the message says how to fix it."""
