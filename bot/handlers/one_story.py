"""A story once in /latest and inline mode, with the other sources that reported it.

``OneStoryEach(keeper, wanted)`` is the ``where`` handed to ``Store.latest`` / ``Store.search``:
it lets a headline through only if ``wanted`` does and no newer headline of its story came
through already, so "the 5 newest" are the 5 newest *stories* (a headline whose story is not
known -- stories turned off, or filed before they existed -- is a story of its own).
``also(...)`` is then each shown headline's "Also: SCMP Tech · TechNode" (``delivery.also``),
made of the story's other stored reports that ``wanted`` lets through too (as an alert folds
only the reports that matched): a chat's private source never shows up in another chat's
/latest, not even as a link, and ``/latest Nexperia -source:scmp`` shows no SCMP link.
At most ``MAX_REPORTS`` of a story are read for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.delivery.also import also_html
from bot.models import Headline
from bot.store import Store
from bot.story_keeper import StoryKeeper

__all__ = ["MAX_REPORTS", "OneStoryEach"]

MAX_REPORTS = 50


class OneStoryEach:
    """A ``where`` letting one headline of each story through, the first it is asked about
    (the store asks newest first)."""

    def __init__(self, keeper: StoryKeeper | None, wanted: Callable[[Headline], bool]) -> None:
        self.keeper = keeper
        self.wanted = wanted
        self._stories: set[str] = set()
        self._shown: dict[str, str] = {}  # headline id -> its story

    def __call__(self, headline: Headline) -> bool:
        if not self.wanted(headline):
            return False
        story = self.keeper.story_of(headline.id) if self.keeper is not None else None
        if story is None:
            return True
        if story in self._stories:
            return False  # a newer report of this story is shown already
        self._stories.add(story)
        self._shown[headline.id] = story
        return True

    def also(self, store: Store, headlines: Sequence[Headline], *, max_sources: int,
             lang: str) -> list[str]:
        """For each of ``headlines`` (as the store returned them), the HTML of the other
        sources of its story that ``wanted`` lets through; ``""`` when there are none."""
        out = []
        for headline in headlines:
            story = self._shown.get(headline.id)
            if story is None:
                out.append("")
                continue
            found = (store.headline(hid) for hid in store.story_members(story)[:MAX_REPORTS])
            reports = [h for h in found if h is not None and self.wanted(h)]
            out.append(also_html(headline, reports, max_sources=max_sources, lang=lang))
        return out
