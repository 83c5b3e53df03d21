"""The texts of sources a chat chooses (/sources, source: in queries, /addsource, OPML),
English and Chinese, merged into ``bot.i18n.TEXTS``."""

from __future__ import annotations

SOURCE_TEXTS: dict[str, dict[str, str]] = {
    "unknown_source": {
        "en": "There is no source <b>{name}</b> here. Sources you can name: {names}",
        "zh": "这里没有新闻源 <b>{name}</b>。可以使用的新闻源：{names}",
    },
    "list_source_gone": {
        "en": " ⚠️ source {names} removed: this never matches",
        "zh": " ⚠️ 新闻源 {names} 已移除：不会再匹配",
    },
}
