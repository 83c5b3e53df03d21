"""What the bot says, in English and Simplified Chinese.

``language_for(chat_settings, user_language_code)`` picks the language: the chat's choice
(``/language``), else the user's Telegram language (``zh*`` -> Chinese), else English.
``t(lang, key, **values)`` returns the text; values are inserted with ``str.format`` and must
already be HTML-escaped by the caller.
"""

from __future__ import annotations

from typing import Any

from bot.i18n_opml import OPML_TEXTS
from bot.i18n_sources import SOURCE_TEXTS

LANGUAGES = {"en": "English", "zh": "简体中文"}
DEFAULT = "en"


def normalise_language(code: str | None) -> str | None:
    """``zh-hans``, ``zh_CN``, ``中文`` -> ``zh``; ``en-US`` -> ``en``; unknown -> None."""
    if not code:
        return None
    code = code.strip().lower()
    if code.startswith("zh") or code in ("中文", "简体中文", "chinese", "cn"):
        return "zh"
    if code.startswith("en") or code == "english":
        return "en"
    return None


def language_for(settings: dict[str, Any] | None, user_language: str | None = None) -> str:
    chosen = (settings or {}).get("language")
    if chosen in LANGUAGES:
        return chosen
    return normalise_language(user_language) or DEFAULT


def t(lang: str, key: str, **values: Any) -> str:
    entry = TEXTS[key]
    template = entry.get(lang) or entry[DEFAULT]
    return template.format(**values) if values else template


# Command menu: (command, English, Chinese, example).  Admin commands are listed apart.
COMMANDS: list[tuple[str, str, str, str]] = [
    ("follow", "Get alerts for a keyword or phrase", "关注关键词或短语", "/follow eVTOL"),
    ("unfollow", "Stop alerts for a keyword", "取消关注关键词", "/unfollow eVTOL"),
    ("list", "Keywords this chat follows", "查看已关注的关键词", "/list"),
    ("latest", "Newest headlines, or newest that match", "最新标题（可按关键词）", "/latest Nexperia"),
    ("settings", "Everything about this chat", "查看本聊天的全部设置", "/settings"),
    ("digest", "Digests at set times instead of instant alerts", "按时汇总推送", "/digest 08:00 18:00"),
    ("instant", "Alerts as soon as news appears", "恢复即时推送", "/instant"),
    ("quiet", "Quiet hours: alerts wait until they end", "免打扰时段", "/quiet 23:00-07:00"),
    ("timezone", "Your time zone for digests and quiet hours", "设置时区", "/timezone Asia/Shanghai"),
    ("pause", "Pause alerts for a while", "暂停推送一段时间", "/pause 8h"),
    ("resume", "Resume alerts", "恢复推送", "/resume"),
    ("share", "A link that follows a keyword in one tap", "生成一键关注链接", "/share eVTOL"),
    ("channel", "Link a channel you run, to send alerts there", "绑定你管理的频道，向其推送", "/channel @mychannel"),
    ("channels", "Channels you linked", "已绑定的频道", "/channels"),
    ("sources", "Sources you can follow, with buttons", "可用的新闻源（带按钮）", "/sources"),
    ("addsource", "Add a feed of your own", "添加自己的新闻源", "/addsource https://technode.com/feed/"),
    ("removesource", "Remove a source of your own", "移除自己的新闻源", "/removesource technode"),
    ("export", "This chat's own sources as an OPML file", "导出本聊天的新闻源（OPML 文件）", "/export"),
    ("language", "English or 中文", "切换语言（English / 中文）", "/language zh"),
    ("help", "How to use the bot", "使用帮助", "/help"),
    ("start", "Start (or restart) alerts in this chat", "开始（或重新开始）接收推送", "/start"),
]
ADMIN_COMMANDS: list[tuple[str, str, str, str]] = [
    ("stats", "Bot statistics (operators)", "机器人统计（管理员）", "/stats"),
    ("health", "Source health (operators)", "新闻源状态（管理员）", "/health"),
]

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "en": "Hi! I watch tech news (Caixin Global's CX Tech first) and send you every new "
        "headline that matches a keyword you follow.\n"
        "Try <code>/follow eVTOL</code> or <code>/follow 华为</code>, then /latest. /help lists "
        "everything.",
        "zh": "你好！我关注科技新闻（首先是财新 Caixin Global 的 CX Tech），一旦有标题命中你关注的"
        "关键词，就立即推送给你。\n"
        "试试 <code>/follow eVTOL</code> 或 <code>/follow 华为</code>，再发 /latest。/help 查看全部"
        "命令。",
    },
    "help_heading": {"en": "<b>Commands</b>", "zh": "<b>命令</b>"},
    "help_line": {"en": "/{name}: {description}. Example: <code>{example}</code>",
                  "zh": "/{name}：{description}。例如 <code>{example}</code>"},
    "query_help": {
        "en": "<b>Keywords</b>: case-insensitive whole words; plurals and possessives count "
        "(<code>eVTOL</code> finds “eVTOLs”, <code>Nexperia</code> finds “Nexperia’s”). Short "
        "capitals such as <code>AI</code>, <code>US</code>, <code>TSMC</code> match only in "
        "capitals. Phrases match words in order, hyphens or not "
        "(<code>low altitude economy</code>). <code>\"exact phrase\"</code> in quotes takes no "
        "plurals. <code>A OR B</code> for either, <code>-word</code> to exclude "
        "(<code>Nexperia -rumor</code>). Words side by side must all appear "
        "(<code>华为 chip</code>). Chinese, Japanese and Korean text matches anywhere "
        "(<code>华为</code>). <code>source:caixin</code> follows all of a source, "
        "<code>Nexperia source:caixin</code> a keyword in it, <code>AI -source:hn</code> leaves "
        "one out (the names are in /sources). Up to {max_queries} keywords per chat, "
        "{max_chars} characters each.",
        "zh": "<b>关键词规则</b>：不区分大小写，按整词匹配，复数和所有格也算（<code>eVTOL</code> 可"
        "匹配 “eVTOLs”）。<code>AI</code>、<code>US</code>、<code>TSMC</code> 等短大写词只匹配"
        "大写。短语按顺序匹配，连字符不影响（<code>low altitude economy</code>）。"
        "<code>\"精确短语\"</code> 加引号则不匹配复数。<code>A OR B</code> 表示任一，"
        "<code>-词</code> 表示排除（<code>Nexperia -rumor</code>）。并列的几部分须同时出现"
        "（<code>华为 chip</code>）。中日韩文字按子串匹配（<code>华为</code>）。"
        "<code>source:caixin</code> 关注某个新闻源的全部新闻，<code>Nexperia source:caixin</code> "
        "只关注其中的关键词，<code>AI -source:hn</code> 排除某个新闻源（名称见 /sources）。每个聊天最多 "
        "{max_queries} 个关键词，每个最长 {max_chars} 个字符。",
    },
    "follow_usage": {
        "en": "Usage: <code>/follow keyword or phrase</code>, for example <code>/follow "
        "eVTOL</code> or <code>/follow Nexperia -rumor</code>.",
        "zh": "用法：<code>/follow 关键词或短语</code>，例如 <code>/follow eVTOL</code> 或 "
        "<code>/follow 华为</code>。",
    },
    "too_long": {
        "en": "That keyword is {length} characters long; the limit is {limit}. Try a shorter "
        "phrase.",
        "zh": "这个关键词有 {length} 个字符，上限是 {limit}。请换一个短一些的。",
    },
    "bad_query": {"en": "I can't follow that. {reason}", "zh": "无法关注：{reason}"},
    "bad_search": {"en": "I can't search for that. {reason}", "zh": "无法搜索：{reason}"},
    "already": {"en": "You already follow <b>{query}</b>.", "zh": "你已经关注了 <b>{query}</b>。"},
    "too_many": {
        "en": "This chat follows {count} keywords, the limit is {limit}. Remove one with "
        "/unfollow first.",
        "zh": "本聊天已关注 {count} 个关键词，上限是 {limit}。请先用 /unfollow 删除一个。",
    },
    "followed": {
        "en": "✅ Following <b>{query}</b>. New matching headlines will arrive here. This chat "
        "follows {count} keyword(s); see /list.",
        "zh": "✅ 已关注 <b>{query}</b>。有新的匹配标题会推送到这里。本聊天共关注 {count} 个关键词，"
        "见 /list。",
    },
    "unfollow_usage": {
        "en": "Usage: <code>/unfollow keyword</code>, as shown by /list.",
        "zh": "用法：<code>/unfollow 关键词</code>（见 /list）。",
    },
    "not_following": {
        "en": "This chat does not follow <b>{query}</b>.",
        "zh": "本聊天没有关注 <b>{query}</b>。",
    },
    "unfollowed": {"en": "Stopped following <b>{query}</b>.", "zh": "已取消关注 <b>{query}</b>。"},
    "unfollowed_toast": {"en": "Stopped following {query}.", "zh": "已取消关注 {query}。"},
    "list_empty": {
        "en": "This chat follows no keywords yet. Try <code>/follow eVTOL</code>.",
        "zh": "本聊天还没有关注任何关键词。试试 <code>/follow eVTOL</code>。",
    },
    "list_heading": {
        "en": "This chat follows {count} keyword(s):",
        "zh": "本聊天关注了 {count} 个关键词：",
    },
    "nothing_seen": {
        "en": "I have not seen any headlines yet; try again in a few minutes.",
        "zh": "我还没有收到任何标题，请过几分钟再试。",
    },
    "latest_heading": {"en": "Latest headlines", "zh": "最新标题"},
    "latest_on": {"en": "Latest on {query}", "zh": "关于 {query} 的最新标题"},
    "no_match": {
        "en": "No recent headline matches <b>{query}</b>. <code>/follow {query}</code> to be "
        "told when one appears.",
        "zh": "最近没有标题匹配 <b>{query}</b>。发送 <code>/follow {query}</code>，有新消息时会"
        "通知你。",
    },
    "unknown_command": {
        "en": "I don't know {command}. Send /help for the list of commands.",
        "zh": "我不认识 {command} 这个命令。发送 /help 查看命令列表。",
    },
    "plain_text": {
        "en": "Send /help to see what I can do, or /follow a keyword.",
        "zh": "发送 /help 查看我能做什么，或用 /follow 关注关键词。",
    },
    "error": {
        "en": "Sorry, something went wrong on my side. Please try again.",
        "zh": "抱歉，我这边出了点问题，请再试一次。",
    },
    "channel_usage": {
        "en": "Usage: <code>/channel @mychannel</code> (or the channel's numeric id, or forward "
        "me a post from it). First add me to the channel as an administrator who may post "
        "messages.",
        "zh": "用法：<code>/channel @频道名</code>（或频道的数字 ID，或把频道里的一条消息转发给我）。"
        "请先把我加为频道管理员，并允许我发布消息。",
    },
    "channel_private_only": {
        "en": "Link channels in a private chat with me: send /channel there.",
        "zh": "请在与我的私聊中绑定频道：在那里发送 /channel。",
    },
    "channel_unknown": {
        "en": "I cannot see {channel}. Check the name, and add me to the channel as an "
        "administrator first.",
        "zh": "我看不到 {channel}。请检查名称，并先把我加为该频道的管理员。",
    },
    "channel_not_channel": {
        "en": "{channel} is not a channel. Groups use the commands inside the group.",
        "zh": "{channel} 不是频道。群组请在群内直接使用命令。",
    },
    "channel_not_admin": {
        "en": "Only the creator or an administrator of {channel} can manage its alerts, and "
        "Telegram says you are neither.",
        "zh": "只有 {channel} 的创建者或管理员可以管理它的推送，而 Telegram 显示你不是。",
    },
    "channel_bot_cannot_post": {
        "en": "I cannot post in {channel}. Make me an administrator there with the right to "
        "post messages, then send /channel again.",
        "zh": "我无法在 {channel} 发布消息。请把我设为该频道管理员并允许发布消息，然后再发一次 /channel。",
    },
    "channel_linked": {
        "en": "📢 Linked {channel}. Name it first to manage it: <code>/follow {channel} eVTOL</code>, "
        "<code>/list {channel}</code>, <code>/digest {channel} 08:00</code>.",
        "zh": "📢 已绑定 {channel}。在命令里先写频道名即可管理它：<code>/follow {channel} eVTOL</code>、"
        "<code>/list {channel}</code>、<code>/digest {channel} 08:00</code>。",
    },
    "channel_not_linked": {
        "en": "{channel} is not linked here. Link it first with <code>/channel {channel}</code>.",
        "zh": "{channel} 尚未绑定。请先用 <code>/channel {channel}</code> 绑定。",
    },
    "channels_too_many": {
        "en": "You can link at most {limit} channels.",
        "zh": "最多可以绑定 {limit} 个频道。",
    },
    "channels_empty": {
        "en": "No linked channels. <code>/channel @mychannel</code> links one you run.",
        "zh": "还没有绑定频道。用 <code>/channel @频道名</code> 绑定你管理的频道。",
    },
    "channels_heading": {"en": "<b>Linked channels ({count})</b>", "zh": "<b>已绑定的频道（{count}）</b>"},
    "channels_line": {
        "en": "• {channel} {title}: {count} keywords, {state}",
        "zh": "• {channel} {title}：{count} 个关键词，{state}",
    },
    "channels_hint": {
        "en": "Name a channel first in any command: <code>/follow @mychannel eVTOL</code>.",
        "zh": "在任何命令里先写频道名：<code>/follow @频道名 eVTOL</code>。",
    },
    "inline_bad_query": {
        "en": "Invalid search: {reason}",
        "zh": "搜索无效：{reason}",
    },
    "admins_only": {
        "en": "Only this group's administrators can change its alerts.",
        "zh": "只有本群管理员可以修改推送设置。",
    },
    "digest_set": {
        "en": "📰 Digest mode: alerts are collected and sent at {times} ({zone}). /instant "
        "switches back.",
        "zh": "📰 汇总模式：推送将在 {times}（{zone}）集中发送。/instant 恢复即时推送。",
    },
    "digest_usage": {
        "en": "Usage: <code>/digest 08:00 18:00</code> (times in {zone}; see /timezone). "
        "<code>/digest off</code> or /instant sends alerts at once again.",
        "zh": "用法：<code>/digest 08:00 18:00</code>（时区 {zone}，见 /timezone）。"
        "<code>/digest off</code> 或 /instant 恢复即时推送。",
    },
    "instant_set": {
        "en": "⚡ Instant mode: alerts arrive as soon as news appears.",
        "zh": "⚡ 即时模式：有新闻立即推送。",
    },
    "quiet_set": {
        "en": "🌙 Quiet hours {start}–{end} ({zone}): alerts wait and arrive together when they "
        "end. <code>/quiet off</code> removes them.",
        "zh": "🌙 免打扰时段 {start}–{end}（{zone}）：期间的推送会在结束后一并发送。"
        "<code>/quiet off</code> 取消。",
    },
    "quiet_off": {"en": "Quiet hours removed.", "zh": "已取消免打扰时段。"},
    "quiet_usage": {
        "en": "Usage: <code>/quiet 23:00-07:00</code> (times in {zone}), or <code>/quiet "
        "off</code>.",
        "zh": "用法：<code>/quiet 23:00-07:00</code>（时区 {zone}），或 <code>/quiet off</code>。",
    },
    "timezone_set": {"en": "Time zone set to {zone}.", "zh": "时区已设为 {zone}。"},
    "timezone_usage": {
        "en": "Your time zone is {zone}. Change it with <code>/timezone Asia/Shanghai</code>.",
        "zh": "当前时区为 {zone}。用 <code>/timezone Asia/Shanghai</code> 修改。",
    },
    "paused": {
        "en": "⏸ Paused until {until} ({zone}). Headlines meanwhile are skipped (/latest still "
        "shows them). /resume to restart earlier.",
        "zh": "⏸ 已暂停到 {until}（{zone}）。期间的标题不会推送（/latest 仍可查看）。发送 /resume "
        "提前恢复。",
    },
    "pause_usage": {
        "en": "Usage: <code>/pause 8h</code> (minutes m, hours h, days d; at most 30d).",
        "zh": "用法：<code>/pause 8h</code>（m 分钟、h 小时、d 天，最多 30d）。",
    },
    "resumed": {"en": "▶️ Alerts resumed.", "zh": "▶️ 已恢复推送。"},
    "not_paused": {"en": "Alerts are not paused.", "zh": "推送没有暂停。"},
    "bad_value": {"en": "{reason}", "zh": "{reason}"},
    "language_set": {"en": "Language: English.", "zh": "语言已切换为简体中文。"},
    "language_usage": {
        "en": "Usage: <code>/language en</code> or <code>/language zh</code>.",
        "zh": "用法：<code>/language en</code> 或 <code>/language zh</code>。",
    },
    "share": {
        "en": "Anyone who opens this link gets alerts for <b>{query}</b> in one tap:\n{link}",
        "zh": "打开这个链接即可一键关注 <b>{query}</b>：\n{link}",
    },
    "share_usage": {
        "en": "Usage: <code>/share keyword</code>: prints a link that follows it in one tap.",
        "zh": "用法：<code>/share 关键词</code>：生成一键关注的链接。",
    },
    "share_too_long": {
        "en": "That keyword is too long for a Telegram link (64 characters once encoded).",
        "zh": "这个关键词太长，无法放进 Telegram 链接（编码后最多 64 个字符）。",
    },
    "settings": {
        "en": "<b>Settings of this chat</b>\n"
        "Keywords: {count} (/list)\n"
        "Delivery: {mode}\n"
        "Quiet hours: {quiet}\n"
        "Time zone: {zone}\n"
        "Paused: {paused}\n"
        "Language: {language}\n"
        "Alerts: {active}",
        "zh": "<b>本聊天的设置</b>\n"
        "关键词：{count} 个（/list）\n"
        "推送方式：{mode}\n"
        "免打扰：{quiet}\n"
        "时区：{zone}\n"
        "暂停：{paused}\n"
        "语言：{language}\n"
        "推送：{active}",
    },
    "mode_instant": {"en": "instant", "zh": "即时"},
    "mode_digest": {"en": "digest at {times}", "zh": "在 {times} 汇总"},
    "none": {"en": "none", "zh": "无"},
    "no": {"en": "no", "zh": "否"},
    "until": {"en": "until {until}", "zh": "至 {until}"},
    "active": {"en": "on", "zh": "开启"},
    "inactive": {"en": "off (the bot was blocked)", "zh": "关闭（机器人曾被屏蔽）"},
    "button_unfollow": {"en": "Unfollow {query}", "zh": "取消关注 {query}"},
    "button_remove": {"en": "✖ {query}", "zh": "✖ {query}"},
    "button_mute": {"en": "Mute 1 day", "zh": "静音 1 天"},
    "muted": {"en": "Muted for a day. /resume to undo.", "zh": "已静音一天。发送 /resume 撤销。"},
    "button_gone": {
        "en": "That keyword is no longer followed.",
        "zh": "已经没有关注这个关键词了。",
    },
    "stats": {
        "en": "<b>newsbot</b>\nChats: {chats} ({active} active)\nSubscriptions: {subs}\n"
        "Alerts sent in 24 h: {sent}\nPending alerts: {pending}\nTop keywords: {top}",
        "zh": "<b>newsbot</b>\n聊天：{chats}（活跃 {active}）\n订阅：{subs}\n24 小时内推送：{sent}\n"
        "待推送：{pending}\n热门关键词：{top}",
    },
    "err_clock": {
        "en": "'{text}' is not a time of day; write it as HH:MM, e.g. 08:00",
        "zh": "“{text}”不是有效的时间，请写成 HH:MM，例如 08:00",
    },
    "err_no_times": {
        "en": "give at least one time, e.g. /digest 08:00 18:00",
        "zh": "请至少给出一个时间，例如 /digest 08:00 18:00",
    },
    "err_many_digests": {"en": "at most {limit} digests a day", "zh": "每天最多 {limit} 次汇总"},
    "err_quiet_form": {
        "en": "write quiet hours as START-END, e.g. /quiet 23:00-07:00",
        "zh": "免打扰时段请写成 开始-结束，例如 /quiet 23:00-07:00",
    },
    "err_quiet_same": {
        "en": "quiet hours must start and end at different times",
        "zh": "免打扰的开始和结束时间不能相同",
    },
    "err_duration": {
        "en": "'{text}' is not a duration; write e.g. 30m, 8h or 2d",
        "zh": "“{text}”不是有效的时长，请写成 30m、8h 或 2d 这样的形式",
    },
    "err_too_long": {"en": "at most 30 days", "zh": "最长 30 天"},
    "err_zero": {"en": "the duration must be more than zero", "zh": "时长必须大于零"},
    "err_zone": {
        "en": "'{text}' is not a time zone I know; use a name like Asia/Shanghai, "
        "Europe/Berlin or America/New_York",
        "zh": "不认识“{text}”这个时区，请使用 Asia/Shanghai、Europe/Berlin、America/New_York "
        "这样的名称",
    },
    "query_examples": {
        "en": '; for example: eVTOL, low altitude economy, "flying car", Nexperia -rumor, '
        "华为 OR Huawei",
        "zh": '。例如：eVTOL、low altitude economy、"flying car"、Nexperia -rumor、华为 OR Huawei',
    },
    "q_quote_in_word": {
        "en": "Put quotes around a whole phrase, with a space before and after it (not inside "
        "a word)",
        "zh": "引号要括住整个短语，前后各留一个空格（不要放在词中间）",
    },
    "q_not_text": {"en": "A query must be text", "zh": "关键词必须是文字"},
    "q_too_long": {
        "en": "A query can be at most {limit} characters (this one has {length})",
        "zh": "关键词最长 {limit} 个字符（这个有 {length} 个）",
    },
    "q_too_long_spaced": {
        "en": "A query can be at most {limit} characters (this one has {length} once spaced "
        "out)",
        "zh": "关键词最长 {limit} 个字符（补齐空格后这个有 {length} 个）",
    },
    "q_unbalanced": {
        "en": 'Unbalanced quotes: close every "phrase" with a second "',
        "zh": '引号不成对：每个 "短语" 都要用第二个 " 结束',
    },
    "q_dangling_or": {"en": "OR needs a keyword on both sides", "zh": "OR 两边都要有关键词"},
    "q_only_excluded": {
        "en": "A query needs at least one keyword that is not excluded (-word)",
        "zh": "至少要有一个不被排除（-词）的关键词",
    },
    "q_empty": {
        "en": "The query is empty: give a keyword or a phrase",
        "zh": "关键词是空的：请给出一个词或短语",
    },
    "q_too_many": {
        "en": "A query can have at most {limit} keywords or phrases (this one has {count})",
        "zh": "一个查询最多 {limit} 个关键词或短语（这个有 {count} 个）",
    },
    "q_not_stable": {
        "en": "This query would not read the same once stored; write it more simply",
        "zh": "这个查询保存后含义会改变，请写得简单一些",
    },
    "slow_down": {
        "en": "Slow down, please: too many commands at once, so I skipped some. Try again in "
        "a few seconds.",
        "zh": "请慢一点：命令太多太快，有些我跳过了。请过几秒再试。",
    },
    "q_invisible": {
        "en": "A query cannot hold control or formatting characters (found {char})",
        "zh": "关键词不能包含控制字符或格式字符（发现了 {char}）",
    },
    "q_bad_source": {
        "en": "{name} is not a source name: write source:name with the short name /sources "
        "shows",
        "zh": "{name} 不是新闻源名称：请写 source:名称，名称见 /sources",
    },
    "q_too_many_sources": {
        "en": "A query can name at most {limit} sources",
        "zh": "一个查询最多指定 {limit} 个新闻源",
    },
    "q_source_both": {
        "en": "{name} is both asked for and left out (-{name}): keep one",
        "zh": "{name} 既被指定又被排除（-{name}）：请只保留一个",
    },
    "q_source_excludes": {
        "en": "Following a whole source takes no -word: follow keywords in it instead "
        "(Nexperia source:caixin)",
        "zh": "关注整个新闻源时不能用 -排除词：请改为关注其中的关键词（Nexperia source:caixin）",
    },
    "label_matched": {"en": "Matched", "zh": "匹配"},
    "label_paid": {"en": "paid", "zh": "付费"},
    "label_batch": {"en": "{count} new headlines", "zh": "{count} 条新标题"},
    # the other sources of a story under its alert (issue 13): "Also: SCMP Tech · TechNode"
    "label_also": {"en": "Also", "zh": "另见"},
    # what follows a label ("Matched: ", "匹配：") and what separates listed times
    "label_colon": {"en": ": ", "zh": "："},
    "list_separator": {"en": ", ", "zh": "、"},
    "label_more": {"en": "+{count} more", "zh": "另有 {count} 家"},
    "sources_heading": {"en": "<b>Sources</b>", "zh": "<b>新闻源</b>"},
    "source_line": {
        "en": "{mark} <b>{name}</b>: {status}, {items} items, last ok {last_ok}, next {next}"
        "{error}{pace}",
        "zh": "{mark} <b>{name}</b>：{status}，{items} 条，上次成功 {last_ok}，下次 {next}"
        "{error}{pace}",
    },
    # how often the source is polled and why, as the scheduler words it (bot/sources/pace.py)
    "source_pace": {"en": "\n    ⏱ {reason}", "zh": "\n    ⏱ 轮询：{reason}"},
}
TEXTS.update(SOURCE_TEXTS)
TEXTS.update(OPML_TEXTS)
