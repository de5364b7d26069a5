"""The scam check's topic-independent moves and its verdict floor (bot/check/checker.py).

A message that asks to move money, give a code or card details, or give remote access is
never "legit": nothing in a message proves who sent it. Genuine notices that ask for none of
that stay "legit". Sentences here were written for this test, not taken from eval sets.
Flags and aliases only (no embedder), so the file runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.check.checker import Checker
from bot.check.redflags import RedFlagRules
from bot.check.render import render_check

TAXONOMY = Path(__file__).resolve().parent.parent / "knowledge" / "taxonomy.yaml"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker(RedFlagRules.load(), yaml.safe_load(TAXONOMY.read_text(encoding="utf-8")))


REQUESTS = [
    (
        "zh",
        "小刘，我是李局，这边有个急事不方便打电话，你先从备用金里转三万到下面这个账户，我回来签字。",
    ),
    ("zh", "外婆，是我，我手机摔坏了用同学的号，我在医院缴费差八千，你先把钱打到这张卡上好吗"),
    ("zh", "这里是区法院执行局，你名下有一笔未结案件，请把保证金交到指定账户，否则明天强制执行。"),
    ("zh", "把刚收到的六位数字发我一下，我登录不上了"),
    ("zh", "请下载这个会议软件，打开共享，我一步步教你操作退款"),
    (
        "en",
        "Hey it's Tom from accounts, the CEO needs £4,800 sent to this account before noon, keep it quiet.",
    ),
    (
        "en",
        "Grandma it's me, I'm in trouble and need bail money, please wire it to my lawyer's account and don't tell Mum.",
    ),
    ("en", "Please read me the code we just texted you so I can verify your identity."),
    ("en", "Install this remote support tool so our technician can fix the refund on your screen."),
    # ... but money sent on from the reader's card to someone else's account still is
    ("zh", "钱到你那张卡上以后，你再把钱转到我朋友的卡上，他帮我交学费。"),
    # session 15: a relative's account is a third party's; ID and card numbers asked together
    ("zh", "我是你表舅，换了个号。这次的钱直接打到我老婆的账户，她叫王某某。"),
    ("zh", "您的医保卡需要年审，请在下方填写身份证号码和银行卡号，逾期停用。"),
    (
        "en",
        "It's Dad on a new phone, can you send the £600 to my wife's account instead? Details below.",
    ),
    (
        "en",
        "Congrats, your refund is approved. To release it, reply with your SSN and the card number it goes to.",
    ),
]

GENUINE = [
    (
        "zh",
        "【某某银行】您尾号3321的信用卡本期账单已出，应还金额1,250.00元，请通过手机银行按时还款。",
    ),
    ("zh", "【某某快递】您的包裹已放入小区快递柜，取件码6810，请及时领取。"),
    ("zh", "你的验证码是402913，5分钟内有效，请勿告诉任何人，包括客服人员。"),
    ("zh", "妈，房租我已经转给房东了，你不用再管了。"),
    ("zh", "周末大促，全场八折，回复TD退订"),
    ("en", "Your verification code is 558201. We will never call you to ask for it."),
    # session 15: the same numbers named in a genuine notice: bring them, or never give them
    ("zh", "【某某银行】您的身份证件已过期，请本人携带身份证和银行卡到就近网点更新。"),
    (
        "en",
        "Please bring your passport and a recent bank statement to your appointment at the branch.",
    ),
    ("en", "Your parcel was delivered to your safe place at 14:05."),
    ("en", "Hi love, I've paid the gas bill, so we're all sorted for this month."),
    # money put INTO the reader's own card is news, not a request to move money away
    ("zh", "儿子，生活费我刚在柜台存到你那张工行卡里了，记得查收。"),
]

WARNINGS = [  # they name the requests to warn against them: not requests
    ("zh", "提醒大家：公检法不会让你把钱转到安全账户，凡是让你转账的都是诈骗。"),
    ("zh", "今天有人冒充我领导让我转账，我直接挂了，大家小心。"),
    ("en", "Police will never ask you to move money to a safe account. Hang up and call 159."),
]


@pytest.mark.parametrize("lang, text", REQUESTS)
def test_requests_for_money_codes_or_access_are_never_legit(checker, lang, text):
    result = checker.check(text, lang)
    assert result.verdict in ("scam", "suspicious"), (result.verdict, result.red_flags)
    assert result.red_flags, "the flags that fired are shown"
    body, _ = render_check(result, lang)
    assert "没有发现明显的诈骗特征" not in body and "no clear scam signs" not in body


@pytest.mark.parametrize("lang, text", GENUINE)
def test_genuine_notices_stay_legit(checker, lang, text):
    result = checker.check(text, lang)
    assert result.verdict == "legit", (result.red_flags, result.signals)
    assert result.signals["floor"] == 0.0


@pytest.mark.parametrize("lang, text", WARNINGS)
def test_warnings_and_retold_scams_are_not_floored(checker, lang, text):
    assert checker.check(text, lang).signals["floor"] == 0.0


def test_the_moves_are_quoted_whatever_the_story(checker):
    text = "我是市公安局的王警官，你的卡涉嫌洗钱，这件事要保密，别告诉家人，今天之内把钱转到这个账户核查。"
    flags = {f["flag"]: f["quote"] for f in checker.check(text, "zh").red_flags}
    assert {"claims_official", "threat_of_arrest", "secrecy", "move_money"} <= set(flags)
    assert all(quote in text for quote in flags.values())


def test_a_fake_police_message_is_explained_as_police_impersonation(checker):
    text = "您好，这里是公安局刑侦支队，你的银行卡涉嫌洗钱案，请下载会议软件共享屏幕配合资金核查，需严格保密。"
    result = checker.check(text, "zh")
    assert result.topics and result.topics[0] == "impersonating-officials", result.topics
    body, _ = render_check(result, "zh")
    assert "安全账户" in body and "公安" in body
