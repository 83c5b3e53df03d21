"""The texts of OPML import, /export and the notices about a chat's own source that fails
or recovers (``bot.chat_sources.health``), English and Chinese, merged into
``bot.i18n.TEXTS``.

``opml_error_<code>`` words each ``bot.chat_sources.opml.OpmlError`` code;
``opml_reason_<reason>`` each reason an import refuses a feed (``bot.chat_sources.REASONS``
and ``several_feeds``); ``health_reason_<code>`` each ``health.reason_code``."""

from __future__ import annotations

OPML_TEXTS: dict[str, dict[str, str]] = {
    "opml_disabled": {
        "en": "This bot does not take sources of your own, so an OPML file cannot be imported.",
        "zh": "本机器人不接受自定义新闻源，因此无法导入 OPML 文件。",
    },
    "opml_not_a_file_for_me": {
        "en": "Send me an <b>.opml</b> file (the export of a feed reader) and I add its feeds "
        "to this chat's sources. /export sends them back.",
        "zh": "发送 <b>.opml</b> 文件（阅读器导出的订阅列表），我会把其中的新闻源添加到本聊天。"
        "/export 可导出。",
    },
    "opml_too_large": {
        "en": "⚠️ That file is too large ({size}); an OPML file of at most {limit} is read.",
        "zh": "⚠️ 文件太大（{size}）；最多读取 {limit} 的 OPML 文件。",
    },
    "opml_download_failed": {
        "en": "⚠️ I could not download that file from Telegram. Please send it again.",
        "zh": "⚠️ 无法从 Telegram 下载该文件，请重新发送。",
    },
    "opml_error_too_large": {
        "en": "⚠️ That file is too large: an OPML file of at most {limit} is read.",
        "zh": "⚠️ 文件太大：最多读取 {limit} 的 OPML 文件。",
    },
    "opml_error_not_xml": {
        "en": "⚠️ That file is not an OPML file (it is not well-formed XML).",
        "zh": "⚠️ 这不是 OPML 文件（不是格式正确的 XML）。",
    },
    "opml_error_not_opml": {
        "en": "⚠️ That file is XML but not OPML. Export your subscriptions as OPML from your "
        "feed reader and send that file.",
        "zh": "⚠️ 这是 XML 文件，但不是 OPML。请在阅读器中把订阅导出为 OPML 后发送。",
    },
    "opml_error_is_feed": {
        "en": "⚠️ That file is a feed itself, not a list of feeds. To add a feed, send "
        "<code>/addsource</code> with its address.",
        "zh": "⚠️ 这个文件本身是一个新闻源，而不是新闻源列表。要添加新闻源，请发送 "
        "<code>/addsource</code> 加上它的网址。",
    },
    "opml_error_forbidden": {
        "en": "⚠️ That file declares a DOCTYPE or entities, which I do not read. Feed readers "
        "never write them: export the file again.",
        "zh": "⚠️ 该文件声明了 DOCTYPE 或实体，我不读取此类文件。阅读器导出的文件不会包含它们，"
        "请重新导出。",
    },
    "opml_error_too_many": {
        "en": "⚠️ That file has over {limit} entries; I read files with fewer.",
        "zh": "⚠️ 该文件超过 {limit} 个条目；只读取更少条目的文件。",
    },
    "opml_error_too_deep": {
        "en": "⚠️ That file's folders are nested over {limit} deep; I read flatter files.",
        "zh": "⚠️ 该文件的文件夹嵌套超过 {limit} 层；请使用层级更少的文件。",
    },
    "opml_empty": {
        "en": "That OPML file lists no feeds.",
        "zh": "这个 OPML 文件中没有新闻源。",
    },
    "opml_checking": {
        "en": "⏳ Checking {count} feed(s) from <b>{file}</b>…",
        "zh": "⏳ 正在检查 <b>{file}</b> 中的 {count} 个新闻源…",
    },
    "opml_report_head": {
        "en": "📥 <b>{file}</b>: {count} feed(s)",
        "zh": "📥 <b>{file}</b>：共 {count} 个新闻源",
    },
    "opml_added": {
        "en": "✅ Added {count}: {names}",
        "zh": "✅ 已添加 {count} 个：{names}",
    },
    "opml_added_none": {
        "en": "Nothing new was added.",
        "zh": "没有添加新的新闻源。",
    },
    "opml_already": {
        "en": "☑️ Already here {count}: {names}",
        "zh": "☑️ 已经有了 {count} 个：{names}",
    },
    "opml_refused": {
        "en": "⛔ Refused {count}:",
        "zh": "⛔ 未添加 {count} 个：",
    },
    "opml_refused_line": {
        "en": "• {reason} ({count}): {names}",
        "zh": "• {reason}（{count} 个）：{names}",
    },
    "opml_duplicates": {
        "en": "{count} feed(s) listed more than once were counted once.",
        "zh": "{count} 个重复列出的新闻源只计一次。",
    },
    "opml_more": {"en": "and {count} more", "zh": "等另外 {count} 个"},
    "opml_follow_hint": {
        "en": "<code>/follow source:{slug}</code> follows all of a source; "
        "<code>/follow eVTOL source:{slug}</code> a keyword in it.",
        "zh": "<code>/follow source:{slug}</code> 关注该新闻源的全部标题；"
        "<code>/follow eVTOL source:{slug}</code> 只关注其中的关键词。",
    },
    "opml_reason_not_a_feed": {"en": "not a feed", "zh": "不是新闻源（feed）"},
    "opml_reason_unreachable": {"en": "could not be fetched", "zh": "无法获取"},
    "opml_reason_too_large": {"en": "too large", "zh": "内容太大"},
    "opml_reason_redirect_loop": {"en": "too many redirects", "zh": "重定向过多"},
    "opml_reason_forbidden_address": {
        "en": "an address the bot may not fetch",
        "zh": "机器人不允许访问的地址",
    },
    "opml_reason_limit_reached": {
        "en": "over this chat's limit of {limit} sources",
        "zh": "超出本聊天 {limit} 个新闻源的上限",
    },
    "opml_reason_already_added": {"en": "already here", "zh": "已经有了"},
    "opml_reason_disabled": {"en": "sources of your own are off", "zh": "自定义新闻源已关闭"},
    "opml_reason_bad_url": {"en": "not a web address", "zh": "不是网址"},
    "opml_reason_url_too_long": {"en": "an address too long", "zh": "网址太长"},
    "opml_reason_unavailable": {
        "en": "could not be saved just now (try again later)",
        "zh": "暂时无法保存（请稍后再试）",
    },
    "opml_reason_several_feeds": {
        "en": "a page naming several feeds (pick one with /addsource)",
        "zh": "网页列出了多个新闻源（请用 /addsource 选择一个）",
    },
    "opml_reason_not_tried": {
        "en": "not tried: an import fetches at most {tries} feeds (add these with /addsource)",
        "zh": "未尝试：一次导入最多获取 {tries} 个新闻源（请用 /addsource 逐个添加）",
    },
    "export_none": {
        "en": "This chat has no sources of its own yet. Add one with "
        "<code>/addsource https://technode.com/feed/</code>, or send me an .opml file.",
        "zh": "本聊天还没有自定义新闻源。可以用 <code>/addsource https://technode.com/feed/</code> "
        "添加，或发送 .opml 文件。",
    },
    "export_caption": {
        "en": "📤 {count} source(s) of this chat, as OPML: import it into any feed reader, or "
        "send it to me in another chat.",
        "zh": "📤 本聊天的 {count} 个新闻源（OPML 格式）：可导入任何阅读器，或发给我用于其他聊天。",
    },
    "export_title": {
        "en": "newsbot: the sources of {chat}",
        "zh": "newsbot：{chat} 的新闻源",
    },
    "health_failing": {
        "en": "⚠️ Your source <b>{title}</b> (<code>{slug}</code>) has not worked since "
        "{since}: {reason}.\nI now try it every 6 hours and will tell you when it works "
        "again. <code>/removesource {slug}</code> removes it.",
        "zh": "⚠️ 你的新闻源 <b>{title}</b>（<code>{slug}</code>）自 {since} 起无法使用："
        "{reason}。\n现在每 6 小时重试一次，恢复后会通知你。"
        "<code>/removesource {slug}</code> 可将其移除。",
    },
    "health_recovered": {
        "en": "✅ Your source <b>{title}</b> (<code>{slug}</code>) works again: its news "
        "arrives as before.",
        "zh": "✅ 你的新闻源 <b>{title}</b>（<code>{slug}</code>）已恢复，新闻照常推送。",
    },
    "health_reason_gone": {
        "en": "the address answers “not found” ({detail}); the feed may have moved",
        "zh": "该地址返回“未找到”（{detail}），新闻源可能已迁移",
    },
    "health_reason_http": {
        "en": "the server answers with an error ({detail})",
        "zh": "服务器返回错误（{detail}）",
    },
    "health_reason_forbidden": {
        "en": "its address is one the bot may not fetch",
        "zh": "它的地址是机器人不允许访问的地址",
    },
    "health_reason_not_a_feed": {
        "en": "what it sends is no longer a feed",
        "zh": "它返回的内容已不是新闻源（feed）",
    },
    "health_reason_too_large": {
        "en": "it sends more than the bot reads",
        "zh": "它返回的内容超出机器人读取的上限",
    },
    "health_reason_timeout": {
        "en": "it does not answer in time",
        "zh": "它没有及时响应",
    },
    "health_reason_unreachable": {
        "en": "it cannot be reached ({detail})",
        "zh": "无法连接（{detail}）",
    },
}
