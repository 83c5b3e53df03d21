"""Delivery: pacing (``Pacer``), rendering (``format``) and the outbox drain (``Deliverer``).

Wiring (see ``bot/app.py``)::

    app = Application.builder().token(token).rate_limiter(Pacer()).post_init(start)...
    # post_init:  deliverer = Deliverer(app.bot, store, max_age=..., summary_chars=...,
    #                                   on_migrated=index.move_chat)
    #             asyncio.create_task(deliverer.run()); poller calls deliverer.wake()
    # post_stop:  await deliverer.stop()
"""

from bot.delivery.outbox import Deliverer, DeliveryReport
from bot.delivery.pacing import BULK, Pacer

__all__ = ["BULK", "Deliverer", "DeliveryReport", "Pacer"]
