"""One poll cycle: due sources -> new headlines -> matches -> outbox.

``Poller.tick()`` is called every second by the JobQueue.  It starts a task for every source
whose ``next_poll_at`` has come and that is not already being polled, and returns at once, so
one slow source never holds up the others.  Each task fetches and parses the source
(``bot.sources``), keeps only the headlines the store has not seen, and writes in one
durable batch: the headlines, the alerts owed to matching chats, and the source's new state.
A crash before that batch loses nothing (the next poll sees the same items as new); a crash
after it loses nothing either (the outbox holds the alerts).

The first successful poll of a source records what is there and alerts nobody.  Every new
headline gets its story (``bot.story_keeper``) in the batch that stores it.  Delivery is woken
once the polls of a tick are done (at most ``CYCLE_HOLD`` seconds after the first alert), so
that reports of one story that several sources publish at once are one entry.

After each successful poll (200 or 304) the source's next poll is set by the scheduler
(``bot.sources.pace``), which learns each source's publishing rate from the headlines the store
holds and from what every poll finds; failures keep their back-off.  A 304 of a healthy source
changes only its times and counts, so its state is written without an fsync of its own: the
next tick commits all of them in one (a crash loses at most a second of them, which only
means those sources are polled a little early).

The chats' own sources (``bot.chat_sources``) are polled here too, each URL once however many
chats added it, under the ``STRICT`` fetch policy (public addresses, or ``[polling]
allow_hosts``).  Their headlines live in a namespace of their own (``chat_sources.own``) and
are matched for the chats that added the source only.  Their due times and pacing are kept by
``chat_sources.polled.OwnSources``; after each of their polls ``chat_sources.health`` decides
whether their chats are owed a notice (failing for a day, working again), which is saved with
the poll's state and then handed to ``on_notice``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot import schedule
from bot.chat_sources import health
from bot.chat_sources.own import own_headlines, source_config
from bot.chat_sources.polled import OwnSources
from bot.config import Settings, SourceConfig
from bot.matching import MatchIndex
from bot.metrics import Metrics
from bot.models import Alert, Headline, utcnow
from bot.sources import (
    STRICT,
    FetchPolicy,
    PollResult,
    SourceState,
    backoff_seconds,
    fill_summaries,
    poll_source,
)
from bot.sources.fetch import Fetcher
from bot.sources.pace import Scheduler
from bot.sources.registry import Registry, SourceEntry
from bot.store import Store, StoreError
from bot.story_keeper import StoryKeeper

log = logging.getLogger(__name__)

#: the longest an alert waits for the other polls of its tick before delivery is woken
CYCLE_HOLD = 3.0
#: chat sources' polls started but not finished, per fetch slot (``[polling] max_in_flight``):
#: enough to keep every slot busy, without a task per source when thousands are due at once
OWN_POLLS_PER_SLOT = 4


@dataclass(frozen=True, slots=True)
class _Target:
    """What one poll fetches: the source's config, the policy its fetches are held to, and,
    for a chat's own source, its registry entry (whose chats alone get its headlines)."""

    config: SourceConfig
    policy: FetchPolicy
    entry: SourceEntry | None = None  # a chat's own source

    @classmethod
    def operator(cls, source: SourceConfig) -> _Target:
        return cls(source, FetchPolicy.for_source(source.url))  # trusts its own host

    @classmethod
    def own(cls, entry: SourceEntry) -> _Target:
        return cls(source_config(entry), STRICT, entry)


def build_scheduler(
    settings: Settings, store: Store | None, states: Mapping[str, SourceState], now: datetime
) -> Scheduler:
    """A scheduler for the enabled sources that knows their history from the store."""
    polling = settings.polling
    scheduler = Scheduler(
        floor=polling.min_interval_seconds,
        ceiling=polling.max_interval_seconds,
        budget_per_hour=settings.requests_per_hour,
    )
    for source in settings.sources:
        if not source.enabled:
            continue
        state = states.get(source.name) or SourceState()
        since = state.watching_since.timestamp() if state.watching_since else None
        if since is None and state.polls:
            since = now.timestamp() - scheduler.window  # polled before pacing existed
        scheduler.add(
            source.name, fixed=source.interval_seconds, watching_since=since, hints=state.hints
        )
    names = set(scheduler.names())
    window_start = now - timedelta(seconds=scheduler.window)
    for name, published, first_seen in store.headline_times(window_start) if store else ():
        if name in names:
            scheduler.observe(name, published, first_seen)
    return scheduler


class Poller:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        index: MatchIndex,
        fetcher: Fetcher,
        *,
        on_alerts: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
        registry: Registry | None = None,
        stories: StoryKeeper | None = None,
        on_notice: Callable[[health.Notice], None] = lambda notice: None,
    ) -> None:
        self.settings = settings
        self.stories = stories
        self.registry = registry or Registry()
        self.store = store
        self.index = index
        self.fetcher = fetcher
        self.on_alerts = on_alerts
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.on_notice = on_notice
        self.sources = {s.name: s for s in settings.sources if s.enabled}
        self._tasks: dict[str, asyncio.Task[PollResult | None]] = {}
        self._own_tasks: dict[str, asyncio.Task[PollResult | None]] = {}
        self._stopping = False
        self._not_before: dict[str, datetime] = {}
        self._wake_held: asyncio.TimerHandle | None = None
        self._spread_first_polls()
        states = {name: self._state(s) for name, s in self.sources.items()}
        self.pace = build_scheduler(settings, store, states, self.clock())
        self.own = OwnSources(settings, store, self.registry, self.clock())

    def _spread_first_polls(self) -> None:
        """Spread new sources evenly over their interval so they are not all fetched at once
        (later polls keep that spacing: each is due one interval after the last)."""
        now = self.clock()
        count = max(len(self.sources), 1)
        for position, source in enumerate(self.sources.values()):
            state = self._state(source)
            if state.next_poll_at is None:
                offset = self.settings.interval_for(source) * position / count
                state.next_poll_at = now + timedelta(seconds=offset)
                self._save_state(source, state)

    def _state(self, source: SourceConfig) -> SourceState:
        raw = self.store.source_state(source.name)
        state = SourceState.from_dict(raw) if raw else SourceState()
        if raw.get("config_url") not in (None, source.url):
            # The operator changed the URL in the config: start over from the new one.
            state = SourceState()
        return state

    def _save_state(self, source: SourceConfig, state: SourceState, *,
                    durable: bool = True) -> None:
        data = state.to_dict()
        data["config_url"] = source.url
        self.store.set_source_state(source.name, data, durable=durable)

    def tick(self) -> list[str]:
        """Make the last second's 304 states durable (one fsync); start polls for every due
        source; return their names."""
        self._flush_states()
        now = self.clock()
        return self._tick_operators(now) + self._tick_own(now)

    def _flush_states(self) -> None:
        try:
            self.store.flush()
        except StoreError as exc:  # the store now refuses writes; each poll will say so
            log.error("cannot record the sources' last polls: %s", exc)

    def _tick_operators(self, now: datetime) -> list[str]:
        started = []
        for name, source in self.sources.items():
            if name in self._tasks:
                continue
            state = self._state(source)
            if state.next_poll_at is not None and state.next_poll_at > now:
                continue
            if self._not_before.get(name, now) > now:
                continue  # backing off after an error the store could not record
            task = asyncio.create_task(self.poll(source), name=f"poll:{name}")
            self._tasks[name] = task
            task.add_done_callback(functools.partial(self._forget_task, self._tasks, name))
            started.append(name)
        return started

    def _tick_own(self, now: datetime) -> list[str]:
        """Start polls of the chats' own sources that are due, a few fetch slots' worth."""
        if not self.settings.chat_sources.enabled:
            return []  # the operator turned chat sources off: kept, not polled
        room = self.settings.polling.max_in_flight * OWN_POLLS_PER_SLOT - len(self._own_tasks)
        started = []
        for entry in self.own.take(now, self._own_tasks, room):
            name = entry.state_name
            not_before = self._not_before.get(name, now)
            if not_before > now:
                self.own.set_due(name, not_before)
                continue
            task = asyncio.create_task(self._run(_Target.own(entry)), name=f"poll:{name}")
            self._own_tasks[name] = task
            task.add_done_callback(functools.partial(self._own_done, name))
            started.append(name)
        return started

    def _own_done(self, name: str, task: asyncio.Task[PollResult | None]) -> None:
        """A chat source's poll ended: back in the queue at the due time it recorded (or
        had), and the next due one started at once, not at the next tick."""
        self.own.set_due(name, self.own.due_at(name))
        self._forget_task(self._own_tasks, name, task)
        if not self._stopping:
            self._tick_own(self.clock())

    def _forget_task(self, tasks: dict[str, asyncio.Task[PollResult | None]], name: str,
                     _task: object) -> None:
        tasks.pop(name, None)
        if self._wake_held is not None and not self._polls_in_flight():
            self._wake_now()

    def _polls_in_flight(self) -> bool:
        current = asyncio.current_task()
        tasks = (*self._tasks.values(), *self._own_tasks.values())
        return any(not t.done() and t is not current for t in tasks)

    def _alerts_queued(self) -> None:
        """Wake delivery now, or once the other polls in flight are done (at most
        ``CYCLE_HOLD`` seconds from now): their reports of one story are then one entry."""
        if not self._polls_in_flight():
            self._wake_now()
        elif self._wake_held is None:
            loop = asyncio.get_running_loop()
            self._wake_held = loop.call_later(CYCLE_HOLD, self._wake_now)

    def _wake_now(self) -> None:
        held, self._wake_held = self._wake_held, None
        if held is not None:
            held.cancel()
        self.on_alerts()

    async def poll_all(self) -> list[PollResult]:
        """Poll every enabled source now, and every chat's own source (used by tests)."""
        own = [_Target.own(e) for e in self.registry.chat_sources() if e.chats]
        if not self.settings.chat_sources.enabled:
            own = []
        results = await asyncio.gather(
            *(self.poll(s) for s in self.sources.values()), *(self._run(t) for t in own)
        )
        self._flush_states()
        return [r for r in results if r is not None]

    async def join(self) -> None:
        """Wait until the polls in flight are done (tests and benchmarks), their states
        durable."""
        while tasks := [*self._tasks.values(), *self._own_tasks.values()]:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._flush_states()

    async def stop(self) -> None:
        self._stopping = True
        if self._wake_held is not None:
            self._wake_held.cancel()
            self._wake_held = None
        tasks = [*self._tasks.values(), *self._own_tasks.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def poll(self, source: SourceConfig) -> PollResult | None:
        """Poll one of the operator's sources now."""
        return await self._run(_Target.operator(source))

    async def _run(self, target: _Target) -> PollResult | None:
        try:
            return await self._poll(target)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the other sources, nor hammer this one
            log.exception("polling %s failed unexpectedly", target.config.name)
            self._back_off(target, f"internal error: {exc!r}")
            self.metrics.error("poller")
            return None

    def _back_off(self, target: _Target, error: str) -> None:
        source = target.config
        state = self._state(source)
        state.failed(self.clock())
        state.last_error = error
        delay = backoff_seconds(
            state.failures,
            self.settings.interval_for(source),
            self.settings.polling.max_backoff_seconds,
        )
        state.next_poll_at = self.clock() + timedelta(seconds=delay)
        # Kept in memory too: when the error is the store itself refusing writes, saving
        # fails, and the source must still not be fetched again at every tick.
        self._not_before[source.name] = state.next_poll_at
        if target.entry is not None:
            self.own.set_due(source.name, state.next_poll_at)
        try:
            self._save_state(source, state)
        except StoreError as exc:
            log.error("cannot record the back-off of %s: %s", source.name, exc)

    async def _poll(self, target: _Target) -> PollResult:
        source = target.config
        previous = self._state(source)
        now = self.clock()
        result = await poll_source(
            self.fetcher,
            source,
            previous,
            now,
            policy=target.policy,
            interval=self.settings.interval_for(source),
            max_backoff=self.settings.polling.max_backoff_seconds,
        )
        if target.entry is not None:
            result = _in_own_namespace(target.entry, result)
        if result.status == "not_modified":
            self._pace(target, result.state, [], now)
        if result.status != "ok":
            # A 304 of a healthy source changes only its times and counts: losing that in a
            # crash means an earlier poll, so it waits for the next tick's one fsync.
            quiet = result.status == "not_modified" and previous.failures == 0
            self._record(target, result.state, now, durable=not quiet)
            self.metrics.poll(source.name, result.status)
            if result.status == "error":
                log.warning(
                    "source %s failed (%s consecutive): %s",
                    source.name,
                    result.state.failures,
                    result.error,
                )
            else:
                log.debug("polled %s: not modified", source.name)
            return result
        await self._store_new(target, result, previous, now)
        return result

    async def _store_new(
        self, target: _Target, result: PollResult, previous: SourceState, now: datetime
    ) -> None:
        """The new headlines of a successful poll, their stories and alerts, and the source's
        state: one batch."""
        source = target.config
        fresh = self._new_headlines(result.headlines, previous)
        first_poll = previous.polls == 0
        if fresh and not first_poll and source.fetch_summaries:
            fresh = await fill_summaries(self.fetcher, fresh, policy=target.policy)
            # Another source may have stored the same story while we fetched summaries.
            fresh = [h for h in fresh if not self.store.is_seen(h.id, h.url_key)]
        if target.entry is None:
            entry = self.registry.for_name(source.name)
            slug = entry.slug if entry is not None else ""
            fresh = [replace(h, published=h.published or now, source_id=slug) for h in fresh]
            audience: frozenset[int] | None = None
        else:
            fresh = [replace(h, published=h.published or now) for h in fresh]
            current = self.own.entry(source.name)  # its chats now, not at the poll's start
            audience = current.chats if current is not None else frozenset()
        alerts = [] if first_poll else self._alerts_for(fresh, now, audience)
        self._pace(target, result.state, fresh, now)
        with self.store.batch():
            self.store.add_headlines(fresh)
            if self.stories is not None:
                self.stories.file(fresh, now)  # each new headline's story, stored with it
            queued = self.store.enqueue(alerts) if alerts else 0
            self._record(target, result.state, now)
        log.info(
            "polled %s: %d items, %d new, %d alerts queued%s",
            source.name,
            len(result.headlines),
            len(fresh),
            queued,
            " (first poll: recorded, nobody alerted)" if first_poll else "",
        )
        self.metrics.poll(source.name, "ok", items=len(result.headlines), new=len(fresh))
        self.metrics.queued(queued)
        if queued:
            self._alerts_queued()

    def _record(self, target: _Target, state: SourceState, now: datetime, *,
                durable: bool = True) -> None:
        """Save the source's state after a poll (``durable=False``: with the next tick's
        fsync).  A chat's own source: first the notice its chats are owed (``health``), saved
        with the state, always durable, then handed on."""
        entry = target.entry
        if entry is None:
            self._save_state(target.config, state, durable=durable)
            return
        current = self.own.entry(entry.state_name)
        if current is None:
            return  # removed by its last chat during the poll: its state is gone with it
        notice = health.after_poll(current, state, now)
        self._save_state(target.config, state, durable=durable or notice is not None)
        self.own.set_due(entry.state_name, state.next_poll_at)
        if notice is not None:
            log.info("chat source %s: %s notice owed", entry.slug, notice.kind)
            try:
                self.on_notice(notice)
            except Exception:  # a courtesy: never the poll's failure
                log.exception("handing on the notice of %s failed", entry.slug)

    def _pace(
        self, target: _Target, state: SourceState, fresh: list[Headline], now: datetime
    ) -> None:
        """Tell the source's scheduler what this poll found (a chat source's is
        ``OwnSources.pace``, outside the operator's budget); set the interval to the next
        poll."""
        if state.watching_since is None:
            state.watching_since = now
        name = target.config.name
        pace = self.own.pace if target.entry is not None else self.pace
        pace.watch(name, state.watching_since.timestamp())
        pace.hints(name, state.hints)
        for headline in fresh:
            published = headline.published.timestamp() if headline.published else None
            pace.observe(name, published, now.timestamp())
        decision = pace.decide(name, now.timestamp())
        state.interval = decision.interval
        state.interval_reason = decision.reason
        # the interval runs from the poll's start; a hint from the answer, which may have come
        # later (a wait for the host's turn, a slow server), is counted from the answer
        answered = self.clock()
        state.next_poll_at = max(
            now + timedelta(seconds=decision.interval),
            answered + timedelta(seconds=decision.hint),
        )

    def _new_headlines(
        self, headlines: Iterable[Headline], previous: SourceState
    ) -> list[Headline]:
        last_ids = set(previous.last_ids)
        seen_here: set[str] = set()
        fresh = []
        for headline in headlines:
            keys = {headline.id, headline.url_key} - {""}
            if headline.id in last_ids or keys & seen_here:
                continue
            seen_here |= keys
            if not self.store.is_seen(headline.id, headline.url_key):
                fresh.append(headline)
        return fresh

    def _alerts_for(
        self, headlines: list[Headline], now: datetime, audience: frozenset[int] | None
    ) -> list[Alert]:
        """The alerts owed for ``headlines``: to every chat that follows a keyword in one, or,
        with ``audience`` (a chat's own source), to those chats only."""
        max_age = timedelta(hours=self.settings.delivery.max_age_hours)
        alerts = []
        for headline in headlines:
            if headline.published and now - headline.published > max_age:
                continue  # old news newly seen (a back-dated item): record, don't alert
            matched = self.index.match(
                headline.title, headline.summary, headline.source_id or None
            )
            for chat_id, matches in matched.items():
                if audience is not None and chat_id not in audience:
                    continue  # a chat's own source is private to the chats that added it
                chat = self.store.chat(chat_id)
                if chat is None or not chat.active or schedule.paused_until(chat.settings, now):
                    continue  # gone, blocked, or paused (/pause, "Mute 1 day"): skip
                queries = tuple(dict.fromkeys(m.query.text for m in matches))
                alerts.append(Alert(chat_id, headline.id, queries, created=now))
        return alerts


def _in_own_namespace(entry: SourceEntry, result: PollResult) -> PollResult:
    """A chat source's poll with its headlines' ids (and the ids its state remembers) in the
    source's own namespace, as its ``/addsource`` check stored them."""
    if result.status != "ok":
        return result
    headlines = own_headlines(entry, result.headlines)
    result.state.last_ids = [h.id for h in headlines]
    return replace(result, headlines=headlines)
