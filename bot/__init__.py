"""newsbot: a Telegram bot that pushes tech headlines to the chats that follow their keywords."""

__version__ = "0.1.0"  # the fallback when not installed; tests keep it equal to pyproject's


def version() -> str:
    """The installed package's version, else ``__version__`` (run from a source tree)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("newsbot")
    except PackageNotFoundError:
        return __version__
