"""The texts of sources a chat chooses (/sources, source: in queries, /addsource,
/removesource; OPML's are in ``bot.i18n_opml``), English and Chinese, merged into
``bot.i18n.TEXTS``.  ``addsource_refused_<reason>`` words each ``bot.chat_sources.REASONS``
(``{detail}``: what went wrong, in plain English, already escaped)."""

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
    "list_source_gone_partly": {
        "en": " (source {names} removed)",
        "zh": "（新闻源 {names} 已移除）",
    },
    # /sources
    "sources_list_heading": {
        "en": "<b>Sources</b> you can follow (<code>/follow source:name</code> follows all of "
        "one; <code>/follow Nexperia source:name</code> a keyword in one):",
        "zh": "<b>可用的新闻源</b>（<code>/follow source:名称</code> 关注整个新闻源；"
        "<code>/follow Nexperia source:名称</code> 只在该新闻源中关注关键词）：",
    },
    "sources_own_heading": {
        "en": "\n<b>This chat's own</b> ({count} of {limit}; only this chat sees them):",
        "zh": "\n<b>本聊天自己的新闻源</b>（{count}/{limit}；仅本聊天可见）：",
    },
    "sources_line": {
        "en": "• <b>{title}</b> — <code>{slug}</code> · {rate}",
        "zh": "• <b>{title}</b> — <code>{slug}</code> · {rate}",
    },
    "sources_rate": {"en": "about {count} a day", "zh": "每天约 {count} 条"},
    "sources_rate_new": {"en": "new", "zh": "新添加"},
    "sources_none": {
        "en": "No sources are configured yet.",
        "zh": "尚未配置任何新闻源。",
    },
    "sources_add_hint": {
        "en": "\n<code>/addsource https://technode.com/feed/</code> adds a feed of your own "
        "(or send me an .opml file); /export sends yours back.",
        "zh": "\n<code>/addsource https://technode.com/feed/</code> 添加自己的新闻源"
        "（或发送 .opml 文件）；/export 可导出。",
    },
    "sources_off_hint": {
        "en": "\nThis bot does not take sources of your own.",
        "zh": "\n本机器人不接受自定义新闻源。",
    },
    "sources_more_buttons": {
        "en": "\nButtons are shown for {count} of them, this chat's own first; name the "
        "others in /follow (or /removesource).",
        "zh": "\n只为其中 {count} 个显示按钮（本聊天自己的优先）；"
        "其他的请在 /follow（或 /removesource）中写名称。",
    },
    "button_follow_all": {"en": "Follow all: {name}", "zh": "全部关注：{name}"},
    "button_remove_source": {"en": "Remove: {name}", "zh": "移除：{name}"},
    "button_confirm_remove": {"en": "Yes, remove {name}", "zh": "确认移除：{name}"},
    "button_keep_source": {"en": "Keep {name}", "zh": "保留：{name}"},
    # the toasts of those buttons (plain text, at most 200 characters)
    "source_remove_ask": {
        "en": "Remove {name}? Press “Yes, remove” to confirm.",
        "zh": "移除 {name}？请按“确认移除”。",
    },
    "source_remove_ask_keywords": {
        "en": "Remove {name}? The keywords naming it go with it ({count}): {queries}",
        "zh": "移除 {name}？提到它的关键词（{count} 个）也会一并取消：{queries}",
    },
    "source_kept": {"en": "Kept {name}.", "zh": "已保留 {name}。"},
    "source_gone": {
        "en": "That source is no longer this chat's.",
        "zh": "本聊天已没有这个新闻源。",
    },
    "button_choose_feed": {"en": "{name}", "zh": "{name}"},
    # /addsource
    "addsource_usage": {
        "en": "Send <code>/addsource</code> with the address of a feed (RSS, Atom, RDF or "
        "JSON Feed) or of a web page that names one, e.g. "
        "<code>/addsource https://technode.com/feed/</code>. Only this chat gets its news; "
        "this chat may have {limit} sources of its own.",
        "zh": "请发送 <code>/addsource</code> 加上新闻源（RSS、Atom、RDF 或 JSON Feed）"
        "或列出新闻源的网页的网址，例如 <code>/addsource https://technode.com/feed/</code>。"
        "只有本聊天会收到它的新闻；本聊天最多可添加 {limit} 个新闻源。",
    },
    "addsource_added": {
        "en": "✅ Added <b>{title}</b> (<code>{slug}</code>): {count} headlines. "
        "<code>/follow source:{slug}</code> follows all of it; "
        "<code>/follow Nexperia source:{slug}</code> a keyword in it. "
        "What is there now is not sent: only news from now on.",
        "zh": "✅ 已添加 <b>{title}</b>（<code>{slug}</code>）：{count} 条标题。"
        "<code>/follow source:{slug}</code> 关注它的全部新闻；"
        "<code>/follow Nexperia source:{slug}</code> 只关注其中的关键词。"
        "现有的标题不会推送，只推送此后的新闻。",
    },
    "addsource_choose": {
        "en": "That page names {count} feeds. Which one shall I add?",
        "zh": "该网页列出了 {count} 个新闻源。要添加哪一个？",
    },
    "addsource_choice_gone": {
        "en": "That choice has expired. Send /addsource with the address again.",
        "zh": "该选项已过期。请重新发送 /addsource 加上网址。",
    },
    "addsource_checking": {"en": "Checking…", "zh": "正在检查…"},
    "addsource_refused_not_a_feed": {
        "en": "⚠️ That is not a feed, and no feed is named on that page ({detail}). Send the "
        "address of an RSS, Atom, RDF or JSON feed.",
        "zh": "⚠️ 这不是新闻源，网页上也没有列出新闻源（{detail}）。请发送 RSS、Atom、RDF 或 "
        "JSON Feed 的网址。",
    },
    "addsource_refused_unreachable": {
        "en": "⚠️ I could not fetch that address ({detail}). Check it and try again.",
        "zh": "⚠️ 无法获取该网址（{detail}）。请检查后重试。",
    },
    "addsource_refused_too_large": {
        "en": "⚠️ That feed is too large for me to read ({detail}).",
        "zh": "⚠️ 该新闻源太大，无法读取（{detail}）。",
    },
    "addsource_refused_redirect_loop": {
        "en": "⚠️ That address redirects too many times, or in a loop ({detail}).",
        "zh": "⚠️ 该网址重定向次数过多或循环重定向（{detail}）。",
    },
    "addsource_refused_forbidden_address": {
        "en": "⚠️ I may not fetch that address: it is on a local, private or internal network "
        "({detail}). Only the bot's operator can allow such a host (<code>[polling] "
        "allow_hosts</code>).",
        "zh": "⚠️ 不允许访问该网址：它位于本地、私有或内部网络（{detail}）。只有机器人的运营者"
        "可以放行这样的主机（<code>[polling] allow_hosts</code>）。",
    },
    "addsource_refused_limit_reached": {
        "en": "⚠️ This chat has {limit} sources of its own, the most it may have. "
        "<code>/removesource name</code> makes room; /sources lists them.",
        "zh": "⚠️ 本聊天已有 {limit} 个自定义新闻源，已达上限。"
        "<code>/removesource 名称</code> 可腾出位置；/sources 可查看列表。",
    },
    "addsource_refused_already_added": {
        "en": "This chat can use that feed already: <b>{title}</b> (<code>{slug}</code>). "
        "<code>/follow source:{slug}</code> follows all of it.",
        "zh": "本聊天已经可以使用该新闻源：<b>{title}</b>（<code>{slug}</code>）。"
        "<code>/follow source:{slug}</code> 关注它的全部新闻。",
    },
    "addsource_refused_disabled": {
        "en": "This bot does not take sources of your own; /sources lists the ones it has.",
        "zh": "本机器人不接受自定义新闻源；/sources 列出了已有的新闻源。",
    },
    "addsource_refused_url_too_long": {
        "en": "⚠️ That address is too long ({detail}): an address of at most 2,000 characters "
        "is read.",
        "zh": "⚠️ 这个网址太长（{detail}）：最多读取 2,000 个字符的网址。",
    },
    "addsource_refused_bad_url": {
        "en": "⚠️ <b>{detail}</b> is not a web address. Send one like "
        "<code>https://technode.com/feed/</code>.",
        "zh": "⚠️ <b>{detail}</b> 不是网址。请发送类似 <code>https://technode.com/feed/</code> "
        "的网址。",
    },
    "addsource_refused_unavailable": {
        "en": "⚠️ I could not save that just now. Please try again in a minute.",
        "zh": "⚠️ 暂时无法保存，请稍后再试。",
    },
    # /removesource
    "removesource_usage": {
        "en": "Send <code>/removesource</code> with the name of one of this chat's own "
        "sources: {names}",
        "zh": "请发送 <code>/removesource</code> 加上本聊天自定义新闻源的名称：{names}",
    },
    "removesource_none": {
        "en": "This chat has no sources of its own. /sources lists what it can use.",
        "zh": "本聊天没有自定义新闻源。/sources 列出了可用的新闻源。",
    },
    "removesource_unknown": {
        "en": "This chat has no source of its own named <b>{name}</b>. Its own: {names}",
        "zh": "本聊天没有名为 <b>{name}</b> 的自定义新闻源。现有：{names}",
    },
    "removesource_done": {
        "en": "🗑 Removed <b>{title}</b> (<code>{slug}</code>): its news no longer comes here.",
        "zh": "🗑 已移除 <b>{title}</b>（<code>{slug}</code>）：不再推送它的新闻。",
    },
    "removesource_unfollowed": {
        "en": "Unfollowed with it, as they named it: {queries}",
        "zh": "同时取消了指定该新闻源的关注：{queries}",
    },
    "removesource_operator": {
        "en": "<b>{name}</b> is one of the bot's own sources, which only its operator "
        "changes. <code>/follow AI -source:{name}</code> leaves it out of a keyword.",
        "zh": "<b>{name}</b> 是机器人自带的新闻源，只有运营者可以更改。"
        "<code>/follow AI -source:{name}</code> 可在关注关键词时排除它。",
    },
}
