"""Word lists the same-story rule leans on: function words, weak words, event verbs.

Hand-made and small on purpose: each list is a judgement about headlines, not a language
model.  ``STOPWORDS`` carry no evidence at all; ``WEAK`` words are common in headlines of
every story (they count a little, and a capitalised weak word is not taken for a name);
``EVENTS`` map a verb (in any of its forms) to the kind of development it reports, so that
"halts" and "to resume" about the same company are told apart; ``CJK_PLACES`` are the
countries and cities whose swap in a Chinese title is another story (匈牙利 / 西班牙).
Words are listed as the features module sees them: normalised, and plurals folded
(``prices`` -> ``price``).
"""

from __future__ import annotations

__all__ = [
    "CJK_BAN_NOUNS",
    "CJK_EVENTS",
    "CJK_LIFT_VERBS",
    "CJK_PLACES",
    "CJK_PLACE_COMPANIES",
    "CJK_PLACE_NAMES",
    "EVENTS",
    "IE_PLURALS",
    "MONTHS",
    "OPPOSITES",
    "STOPWORDS",
    "WEAK",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a an the and or but nor of to in on at by for from with without into onto over under
    about after before as is are was were be been being am do does did done has have had
    having it its this that these those there their them they he she his her him we our
    us you your i me my mine not no yes so if than then too very can could will would
    shall should may might must also just only via vs v amid upon per s t ll ve re d
    what which who whom whose why how when where while here all any each every some such
    up down out off again more most much many other others own same both few isn doesn
    don won didn wasn aren can't
    """
)

# Common in headlines of any story, so weak evidence of a shared one; capitalised (as
# every word of a Title Case headline is), still not a name.
WEAK = _words(
    """
    new news say says said report reported reporting update updated latest now today
    week day year month time first last next big top best good great high low less one
    two three four five six seven eight nine ten make made get got go going come coming
    take took see look looking want show showed give know think find way thing people
    man woman world global local state city country company firm business market deal
    plan price cost pay paid money sale revenue profit loss share stock investor growth
    group chief ceo cfo exec executive official government govt minister president head
    boss video photo review interview live watch read story inside guide tip help need
    use using used work working call called set start started end ended back still even
    like well free full early late long short major key real final public private open
    opened close closed old young bigger biggest move moved run running keep lead hit
    face yet ever never already soon against among around behind between beyond during
    until within across toward part kind sort lot line level number point question answer
    issue problem case fact system service product tech technology data app online
    internet web site user customer device phone mobile digital smart game play player fan
    china chinese usa american america europe european asia asian uk britain british japan
    japanese india indian international national million billion trillion percent cent
    """
)

# Plurals of words ending in "ie" (other "-ies" plurals come from "-y": batteries).
IE_PLURALS = _words("movies cookies zombies selfies rookies calories brownies ties lies pies")

MONTHS = _words(
    """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday
    friday saturday sunday
    """
)

# Event verbs: a development of a kind.  Two headlines that name different kinds of
# development and none in common (halts / resumes) report different news.  A hyphenated
# entry is two words in a row (``lays off``).
_EVENT_WORDS = {
    "stop": "halt halted halting stop stopped stopping suspend suspended suspending "
    "suspension pause paused pausing freeze froze frozen ban banned banning cease ceased "
    "shut shutdown stall stalled cut-off",
    "resume": "resume resumed resuming resumption restart restarted restore restored "
    "restoring reopen reopened reopening lift lifted lifting unban unbanned revive revived",
    "launch": "launch launched launching unveil unveiled unveiling debut debuted introduce "
    "introduced rollout roll-out",
    "delay": "delay delayed delaying postpone postponed postponing",
    "cancel": "cancel canceled cancelled cancelling canceling scrap scrapped axe axed "
    "abandon abandoned",
    "buy": "buy bought buying acquire acquired acquiring acquisition takeover",
    "sell": "sell sold selling divest divested divestiture spinoff spin-off",
    "rise": "rise rose rising jump jumped surge surged soar soared climb climbed rally "
    "rallied",
    "fall": "fall fell falling drop dropped plunge plunged slump slumped sink sank tumble "
    "tumbled slide slid decline declined",
    "approve": "approve approved approving approval cleared allow allowed permit permitted "
    "greenlight greenlit",
    "reject": "reject rejected rejecting rejection deny denied veto vetoe vetoed "
    "block blocked",
    "sue": "sue sued suing lawsuit",
    "settle": "settle settled settling settlement",
    "hire": "hire hired hiring appoint appointed",
    "leave": "resign resigned resignation quit step-down stepping-down ousted fired leave "
    "depart departed departure exit exited",
    "results": "earning quarterly result",
    "layoff": "layoff lay-off laid-off",
    "win": "win won winning",
    "lose": "lose lost losing",
}
#: Kinds that undo or contradict each other: one on one side and its opposite on the other
#: ("bans" / "lifts ban": stop and resume) is a new development even when both share a kind.
OPPOSITES: dict[str, frozenset[str]] = {
    kind: frozenset(others.split())
    for kind, others in {
        "stop": "resume approve", "resume": "stop", "launch": "delay cancel",
        "delay": "launch", "cancel": "launch", "buy": "sell", "sell": "buy",
        "rise": "fall", "fall": "rise", "approve": "reject stop", "reject": "approve",
        "sue": "settle", "settle": "sue", "hire": "leave layoff", "leave": "hire",
        "layoff": "hire", "win": "lose", "lose": "win",
    }.items()
}
EVENTS: dict[str, str] = {
    word: kind for kind, words in _EVENT_WORDS.items() for word in words.split()
}

# The same kinds in Chinese, found as substrings of a CJK run.
_CJK_EVENT_WORDS = {
    "stop": "暂停 停止 停供 叫停 中止 断供 禁止 冻结 停产 停工 收紧 列入实体清单",
    "resume": "恢复 重启 解禁 复产 放开 放宽 放松 松绑 移出实体清单",
    "launch": "发布 推出 亮相 首发 上线",
    "delay": "推迟 延期 延迟",
    "cancel": "取消 放弃 撤销 撤回 解除",
    "buy": "收购 并购",
    "sell": "出售 剥离",
    "rise": "上涨 大涨 暴涨 飙升",
    "fall": "下跌 大跌 暴跌 跳水",
    "approve": "批准 获批 允许",
    "reject": "否决 拒绝 驳回",
    "sue": "起诉",
    "settle": "和解",
    "layoff": "裁员",
    "hire": "招聘 扩招",
    "recall": "召回",
    "price": "降价 涨价 提价 减价",
    "build": "建厂 开建 动工",
    "produce": "投产 量产",
    "results": "财报 业绩 季度",
    "leave": "辞职 离职 下台",
}
CJK_EVENTS: dict[str, str] = {
    word: kind for kind, words in _CJK_EVENT_WORDS.items() for word in words.split()
}
#: One of these verbs, then in the same clause one of these nouns, lifts a ban or a curb
#: ("resume": 解除对华为的禁令, 取消稀土出口管制); the verbs alone revoke or end (撤销许可,
#: 解除合同: "cancel").  A ban noun no such verb comes before imposes one ("stop": 实施制裁,
#: 加强出口管制).
CJK_LIFT_VERBS = _words("解除 撤销 取消 放开 放宽 放松 松绑 暂停 中止")
CJK_BAN_NOUNS = _words("禁令 制裁 限制 管制 禁售 封锁 禁运 关税")

# Countries, regions and cities, as Chinese titles write them: two titles that differ by
# one of them swapped for another and nothing else report two stories.  中国 is left out,
# as "China" is a weak word: "China unit" and "Dongguan plant" are one story.  Two names of
# one place are one place (``CJK_PLACE_NAMES``), and a company named after a place is no
# place (``CJK_PLACE_COMPANIES``: 德州仪器 is Texas Instruments).
CJK_PLACES = _words(
    """
    美国 日本 韩国 朝鲜 德国 法国 英国 意大利 西班牙 葡萄牙 匈牙利 波兰 荷兰 比利时 瑞典
    挪威 芬兰 丹麦 瑞士 奥地利 捷克 希腊 土耳其 俄罗斯 乌克兰 印度 印尼 印度尼西亚 泰国
    越南 马来西亚 新加坡 菲律宾 澳大利亚 澳洲 新西兰 加拿大 墨西哥 巴西 阿根廷 智利 秘鲁
    南非 埃及 尼日利亚 沙特 阿联酋 卡塔尔 以色列 伊朗 巴基斯坦 孟加拉 哈萨克斯坦 欧洲 欧盟
    北美 南美 拉美 东南亚 中东 非洲 北京 上海 深圳 广州 杭州 南京 苏州 成都 重庆 武汉 西安
    天津 合肥 长沙 郑州 青岛 宁波 厦门 东莞 香港 澳门 台湾 东京 大阪 首尔 柏林 慕尼黑 巴黎
    伦敦 纽约 硅谷 加州 德州 得州 莫斯科 孟买 班加罗尔 雅加达 曼谷 河内 新德里 迪拜 悉尼
    多伦多 温哥华 布达佩斯 马德里 巴塞罗那 阿姆斯特丹 米兰 罗马 华沙 里斯本 斯德哥尔摩
    """
)
#: Other names of a place, as the one it is compared under.
CJK_PLACE_NAMES: dict[str, str] = {
    "澳洲": "澳大利亚", "印尼": "印度尼西亚", "得州": "德州",
}
CJK_PLACE_COMPANIES = _words(
    "德州仪器 得州仪器 巴黎世家 北京现代 上海大众 香港交易所 首尔半导体 迪拜环球港务"
)
