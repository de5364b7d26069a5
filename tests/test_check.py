"""Scam check: red-flag detectors (bot/check/redflags.py), scorer and renderer (bot/check/checker.py).

No embedder here: evidence comes from a tiny keyword fake standing in for the injected
search, so the file runs in a few seconds.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from bot.check.checker import Checker, CheckResult, CheckWeights
from bot.check.redflags import RedFlagRules
from bot.check.render import render_check
from bot.records import Chunk, Passage
from bot.taxonomy import Taxonomy

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY_PATH = ROOT / "knowledge" / "taxonomy.yaml"
MESSAGES = ROOT / "eval" / "datasets" / "messages.jsonl"


@pytest.fixture(scope="module")
def rules() -> RedFlagRules:
    return RedFlagRules.load()


@pytest.fixture(scope="module")
def taxonomy() -> dict:
    return yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def checker(rules, taxonomy) -> Checker:
    return Checker(rules, taxonomy)


# ------------------------------------------------------------------ data files
def test_rules_file_is_complete(rules, taxonomy):
    ids = set(taxonomy["topics"])
    assert len(rules.rules) >= 20
    for rule in rules.rules:
        assert rule.labels["zh"] and rule.labels["en"], rule.id
        assert rule.query("zh") and rule.query("en"), rule.id
        assert set(rule.topics) <= ids, rule.id
        assert all(0 < v <= 1 for v in rule.topics.values()), rule.id
    assert any(r.weight < 0 for r in rules.rules), "needs legit counter-signals"


def test_thresholds_are_ordered():
    w = CheckWeights.load()
    assert 0 < w.get("thresholds", "suspicious") < w.get("thresholds", "scam") < 1


def test_unknown_term_in_pattern_is_an_error():
    bad = {"flags": {"x": {"label": {"zh": "甲", "en": "a"}, "weight": 1, "patterns": ["{nope}"]}}}
    with pytest.raises(KeyError):
        RedFlagRules.from_dict(bad)


# ------------------------------------------------------------------ detectors
DETECT = [
    ("fee_before_loan", "您的借款已批，请先缴纳保证金1500元，缴纳后立即放款。"),
    ("fee_before_loan", "贷款审核通过，放款前需支付会员费299元。"),
    ("fee_before_loan", "Your loan is approved; a release fee of $150 is due before disbursement."),
    ("safe_account", "为保护您的资金，请把存款转到国家安全账户。"),
    ("safe_account", "Please move your balance to a safe account we set up for you."),
    ("screen_share", "请打开会议软件，点一下共享屏幕，我帮你处理。"),
    ("screen_share", "Download TeamViewer so our technician can fix your refund."),
    ("asks_code", "麻烦把手机上收到的6位验证码告诉我一下。"),
    ("asks_code", "Please send me the code that just arrived on your phone."),
    ("guaranteed", "资质不好也包过，三天放款。"),
    ("guaranteed", "Approval is 100% guaranteed for every applicant."),
    ("no_credit_check", "不看征信，无视黑白户，急用钱就来。"),
    ("no_credit_check", "Loans with no credit check, cash today."),
    ("inside_channel", "我们有银行内部渠道，利息低。"),
    ("inside_channel", "We have insider contacts at the credit bureau."),
    ("credit_threat", "不处理的话会上报征信。"),
    ("deadline", "请在24小时内完成操作。"),
    ("money_mule", "高价收购银行卡和电话卡，当天结钱。"),
    ("money_mule", "Lend us your bank account for the weekend and keep 10% commission."),
    ("debt_carrier", "只需贡献征信，贷款不用你还，佣金丰厚。"),
    ("ab_loan_favor", "你就帮忙刷个脸，不是担保，没有任何责任。"),
    ("off_platform", "详情加微信：abc12345。"),
    ("off_platform", "Message me on Telegram for details."),
    ("suspicious_link", "请登录 http://192.168.10.8/login 完成认证。"),
    ("suspicious_link", "Verify here: bit.ly/3abcXYZ"),
    ("suspicious_link", "Go to secure-login-mybank.com now."),
    ("task_rebate", "在家刷单返利，一单5元。"),
    ("student_account", "您的学生账户需要注销，否则影响征信。"),
    ("debt_relief_offer", "专业办理停息挂账，帮您上岸。"),
    ("debt_relief_offer", "Join our debt settlement program and stop paying your creditors."),
    ("credit_repair_offer", "专业征信修复，消除逾期记录。"),
    ("credit_repair_offer", "We offer credit repair that removes late payments fast."),
    ("agent_complaint_offer", "专业反催收，代理投诉银行。"),
    ("investment_lure", "跟着导师带单，日收益5%。"),
    ("card_limit_cashout", "信用卡套现、代还，费率低。"),
    ("legit_otp_warning", "验证码123456，请勿泄露给他人。"),
    ("legit_otp_warning", "Your code is 556677. Never share this code."),
    ("legit_delivery", "您的包裹已存入快递柜，取件码 1234。"),
    ("legit_official_channel", "如有疑问请拨打卡片背面客服电话。"),
    ("legit_no_fee", "本行放款不收取任何费用。"),
    # detectors widened to kinds of wording (own example sentences, not dataset rows)
    ("fee_before_loan", "您的借款已审核通过，因流水不足需缴纳验资金3000元。"),
    ("fee_before_loan", "Your $6,000 loan is ready; a $300 guarantee bond clears the hold today."),
    ("fee_before_loan", "Loan approved! We just need your first 3 repayments upfront as security."),
    ("upfront_fee", "签约前需先支付一半服务费，见效后再付尾款。"),
    ("upfront_fee", "Our specialists start once you pay a one-off fee of $250."),
    ("money_mule", "高价收购闲置储蓄卡和U盾，一套每天500元。"),
    ("money_mule", "帮我们收款然后转出去，每跑5万流水提成200元。"),
    ("money_mule", "My cousin pays £300 to borrow your debit card for a few days."),
    ("money_mule", "Still got that old bank account you never use? We would rent it weekly."),
    ("money_mule", "Let client payments land in your account, then transfer them to our partner."),
    ("debt_carrier", "只要配合走一下贷款流程，还款由公司统一负责。"),
    (
        "debt_carrier",
        "We take out the loans in your name and the company covers all the repayments.",
    ),
    ("ab_loan_favor", "你来银行当个共同借款人，刷一下脸就走，钱我自己来还。"),
    (
        "ab_loan_favor",
        "Could you take out the car loan in your name for me? It's just a formality.",
    ),
    ("loan_packaging", "征信不好没关系，我们帮你做银行流水和收入证明，下款后收5个点。"),
    ("loan_packaging", "We supply fake payslips so any bank will approve your mortgage."),
    ("credit_repair_offer", "专业团队帮您清除网贷查询记录，洗白大数据。"),
    ("credit_repair_offer", "Buy a CPN today and get a brand new credit profile."),
    ("credit_repair_offer", "We clear CCJs and missed payments off your credit file."),
    ("debt_relief_offer", "你的网贷利息可以停掉，我们能做个性化分期。"),
    (
        "debt_relief_offer",
        "Settle your loans for a fraction of what you owe, pennies on the dollar.",
    ),
    ("agent_complaint_offer", "专业法务团队帮你摆脱暴力催收，代理协商还款。"),
    ("agent_complaint_offer", "We stop the harassing debt collectors calling you."),
    ("inside_channel", "我们有银行的渠道，可以帮你做下来。"),
    ("inside_channel", "Our team has contacts at the credit bureaus."),
    ("no_credit_check", "Previously refused? We can still help, whatever your history."),
    ("task_rebate", "Make $4 per like on TikTok videos, up to $250/day."),
    ("task_rebate", "28/30 tasks done; the final golden order needs a $200 top-up to complete."),
    ("investment_lure", "李老师每天带大家抓牛股，准确率90%以上。"),
    ("investment_lure", "I started forex trading on my aunt's platform and made 25k last month."),
    ("card_limit_cashout", "Turn your unused card limit into cash with our mobile POS."),
    ("card_details", "To confirm the upgrade, reply with the long number on your card."),
    ("asks_code", "我注册时填错号了，验证码发到你手机上了，把那四位数字发我一下。"),
    ("asks_code", "Oops, my login code went to your phone by mistake, text me the 6 digit number?"),
    (
        "asks_personal_info",
        "You have won! To claim, email us your bank account number and date of birth.",
    ),
    ("asks_personal_info", "拍一下你的身份证正反面发给我，帮你登记领奖。"),
    (
        "callback_alert",
        "Suspicious payment on your card. Call 0800 555 0191 now to secure your funds.",
    ),
    ("refund_or_membership", "您的航班已取消，请联系退改签专员办理，并可领取200元延误补偿金。"),
    ("wrong_number_opener", "Oh sorry, wrong number! But you seem nice, how is your day going?"),
    ("legit_warning", "凡是要求您把钱转到安全账户的都是诈骗。"),
    ("legit_warning", "Anyone asking you to share your screen is a scammer."),
    ("legit_warning", "同事说那个“内部渠道提额”就是个骗局，让我别理。"),
    ("legit_warning", "That's the task scam where they make you pay in later."),
    ("told_as_story", "今天有人打电话让我开屏幕共享，我直接挂了。"),
    ("told_as_story", "Some guy called pretending to be from my bank, so I hung up."),
    ("fee_before_loan", "客服说要先往指定账户转1万做验资，然后才能放款。"),
    ("fee_before_loan", "They want an unfreezing fee of 15% before the loan is released."),
    ("asks_code", "你手机上刚收到一个验证码，麻烦念给我一下。"),
    ("asks_code", "Sorry, I sent you a 6-digit code by mistake, can you pass it on?"),
    ("suspicious_link", "Payment attempted. If this was not you, visit secure-mybank-verify.net"),
    ("money_mule", "Let us use your bank account to receive client payments, easy money."),
    ("money_mule", "Buying unused bank accounts and SIM cards, cash paid."),
    ("debt_carrier", "你啥也不用干，就是背一下债，月供公司负责。"),
    ("investment_lure", "私募新品，年化收益28%，每月返息。"),
    ("recovery_fee", "我们是资金返还中心，可以帮您追回被骗的钱，先交2000元手续费即可办理。"),
    (
        "recovery_fee",
        "Lost money to a crypto scam? Our fund recovery team gets it back for a small fee.",
    ),
]


@pytest.mark.parametrize(("flag", "text"), DETECT)
def test_detector_fires_and_quotes_the_message(rules, flag, text):
    hits = {h.flag: h for h in rules.detect(text)}
    assert flag in hits, f"{flag} did not fire; got {sorted(hits)}"
    hit = hits[flag]
    assert hit.quote and hit.quote in text
    assert text[hit.start : hit.end] == hit.quote


@pytest.mark.parametrize(
    ("flag", "text"),
    [
        ("asks_code", "验证码482913，请勿将验证码泄露给任何人，包括银行工作人员。"),
        ("asks_code", "We will never call you to ask for this code."),
        ("safe_account", "银行工作人员不会要求您把资金转入所谓安全账户。"),
        ("safe_account", "We will never ask you to move money to a safe account."),
        ("fee_before_loan", "您的贷款已审批通过，本行放款不收取任何费用。"),
        ("fee_before_loan", "Your loan is approved. There is no processing fee to accept it."),
        ("legit_delivery", "您的包裹已存入丰巢柜，取件码5521，点击 http://x.cn/a 查看。"),
        # warnings that name a trick to say it IS a scam, or forbid it
        ("screen_share", "凡是要求您开启屏幕共享的都是诈骗！"),
        ("safe_account", "Anyone who tells you to move money to a safe account is a fraudster."),
        ("money_mule", "出租、出借银行卡都是违法行为，切勿出借账户。"),
        ("money_mule", "Never lend your bank account to anyone, it is a crime."),
        ("credit_repair_offer", "所谓征信修复、删除逾期记录都是骗局。"),
        ("debt_relief_offer", "Beware of firms that tell you to stop paying your creditors."),
        ("asks_code", "任何人索要验证码都是诈骗，不要发给别人。"),
        ("fee_before_loan", "您的贷款已审批，放款前无需缴纳任何保证金。"),
        ("ab_loan_favor", "上次那笔饭钱我自己来还，不用麻烦你了。"),  # no loan in sight
        ("asks_code", "Can you send me the wifi password?"),
        ("prize_lure", "You won't be charged until the trial ends."),
        ("money_mule", "记得收微信红包哈，生日快乐！"),
        ("legit_warning", "放心，这不是诈骗，我们是正规公司。"),
        ("legit_warning", "It is not a scam, we are a registered company."),
        ("legit_warning", "This is the fraud department of your bank."),
        ("prize_lure", "我们业主群搞中秋抽奖，我抽中两张电影票。"),
        ("card_limit_cashout", "你说在银行App里就能申请提额，是哪个菜单？"),
        ("recovery_fee", "警方提醒：声称交手续费就能追回被骗资金的都是诈骗。"),
        ("recovery_fee", "Police recovered the stolen funds and returned them to the victims."),
    ],
)
def test_detector_ignores_advice_and_denials(rules, flag, text):
    assert flag not in {h.flag for h in rules.detect(text)}


def test_every_quote_is_a_substring_of_every_dataset_message(rules):
    for row in map(json.loads, MESSAGES.read_text(encoding="utf-8").splitlines()):
        for hit in rules.detect(row["text"]):
            assert row["text"][hit.start : hit.end] == hit.quote, row["id"]


# ------------------------------------------------------------------ verdicts
LEGIT = [
    "【某商业银行】您尾号4432的账户12月9日转入工资7,800.00元，余额12,044.51元。",
    "【某商业银行】动态验证码604418，用于绑定新设备，请勿泄露，银行不会向您索取验证码。",
    "【快递驿站】您的包裹已到达东门驿站，取件码 8-2-1107，请在营业时间内领取。",
    "【某通信公司】您本月话费账单合计69.00元，可在营业厅App查询明细，回T退订。",
    "【某商业银行】您申请的消费贷款已审批通过，请在手机银行内签约，本行不收取任何费用。",
    "【某商场】周年庆全场满200减30，会员积分翻倍，回T退订。",
    "Your one-time code is 447120. Do not share it with anyone. We will never call to ask for it.",
    "Your parcel was delivered to your mailbox at 2:14pm.",
    "Your statement is ready. Minimum payment due Mar 3. View it in the app.",
    "Your car loan of $14,500 has been approved. Review and sign in the mobile app. There is no fee.",
    "Spring sale: 25% off all jackets this weekend only. Reply STOP to opt out.",
    "Can you grab bread on your way home? Thanks!",
    "Hey are you free this weekend? We won the match lol",
    "New number, save it! - Tom",
    "我昨天去银行办了房贷，放款大概要两周。",
    "记得查一下个人信用报告，征信中心官网可以免费查。",
    # anti-fraud notices that list the tricks (counter-signal `legit_warning`)
    "【某区派出所】提醒：凡是自称客服让您下载会议软件、开启屏幕共享、转账到安全账户的，均为诈骗。",
    "【某银行】出租出借银行卡、U盾涉嫌违法犯罪，切勿将银行卡交给他人使用。",
    "【某金融监管局】所谓征信修复、停息挂账中介都是骗局，请通过正规渠道协商。",
    "Police warning: criminals recruit money mules online. Never lend your bank account to anyone.",
    "Scam alert: anyone asking you to install AnyDesk or move money to a safe account is a fraudster.",
    "请按时还款，养成良好的信用记录。",
    "Don't forget to cancel any cards you don't use, it saves on fees!",
]

NOT_LEGIT = [
    "爸，我手机丢了，这是我新号，急用钱，先给我转3000到这个卡上。",
    "兼职打字员，日赚300，先交98元入会费。",
    "亲，您购买的商品有质量问题，我们给您退款，请添加客服微信操作。",
    "Hi mum I lost my phone, this is my new number. Can you send me £200 for a taxi?",
    "WINNER! You have been selected to receive a £900 prize. Call 09061234567 to claim.",
]

SCAMS = [
    (
        "您的贷款已审核通过，因银行卡号错误资金被冻结，请先缴纳解冻费2000元，缴纳后立即放款。",
        "advance-fee-loan",
    ),
    (
        "我是平台客服，您的学生账户未注销会影响征信，请开启屏幕共享，把额度转入安全账户。",
        "fake-customer-service",
    ),
    ("专业征信修复，内部渠道消除逾期记录，不成功全额退款。", "fake-credit-repair"),
    ("高价收银行卡、电话卡，一张800元，当天结算。", "account-renting-money-mule"),
    ("停息挂账，债务优化，罚息全免只还本金，专业协商团队。", "fake-debt-relief"),
    ("招背债人，只需贡献征信，不用本人还款，一单赚10万。", "professional-debt-carrying"),
    ("在家刷单返利，充值越多返利越多，加QQ领任务。", "task-brushing"),
    (
        "Your loan is approved! Pay a $250 processing fee today to release the funds.",
        "advance-fee-loan",
    ),
    (
        "We erase bad credit, 100% guaranteed. Pay $400 upfront for our credit repair.",
        "fake-credit-repair",
    ),
    (
        "Earn $500 a week: receive transfers into your bank account and forward them, keep 10% commission.",
        "account-renting-money-mule",
    ),
    ("急收闲置银行卡、U盾，一张卡一天300元，只需配合转账。", "account-renting-money-mule"),
    ("表哥帮个忙，我贷款资料不够，你当个共同借款人刷个脸，钱我来还。", "ab-loan"),
    ("招人配合跑贷款流程，一单拿3万，后续还款由公司统一处理。", "professional-debt-carrying"),
    ("征信花了？专业团队帮你清理大数据和网贷查询记录，先付定金。", "fake-credit-repair"),
    ("征信花了也能贷，资料我们这边来做，你只管签字，下款后收8个点。", "illegal-loan-intermediary"),
    (
        "Bro u got a spare bank acct? My mate pays £400 to borrow it, just need the card n PIN.",
        "account-renting-money-mule",
    ),
    (
        "Get a CPN and a brand new credit profile, instant 720 score, DM for pricing.",
        "fake-credit-repair",
    ),
    (
        "Hardship settlement plan: settle your cards for pennies on the dollar, $600 enrollment.",
        "fake-debt-relief",
    ),
    (
        "Your $9,000 loan is approved. A $250 guarantee bond sent by Zelle releases the funds today.",
        "advance-fee-loan",
    ),
]


@pytest.mark.parametrize("text", LEGIT)
def test_hard_negatives_come_out_legit(checker, text):
    result = checker.check(text)
    assert result.verdict == "legit", (result.red_flags, result.signals)


@pytest.mark.parametrize("text", NOT_LEGIT)
def test_weaker_scams_are_at_least_suspicious(checker, text):
    result = checker.check(text)
    assert result.verdict in ("scam", "suspicious")
    for lang in ("zh", "en"):
        rendered, citations = render_check(result, lang)
        assert rendered and "{" not in rendered and citations == []


def test_warning_is_a_counter_signal_not_a_red_flag(checker):
    text = "【某公安】提醒：凡是要求您开启屏幕共享、把钱转到安全账户的都是诈骗！"
    result = checker.check(text)
    assert result.verdict == "legit" and result.red_flags == []
    assert "legit_warning" in {c["flag"] for c in result.counter_signals}
    # the same requests without the warning are still a scam
    scam = checker.check("请开启屏幕共享，把钱转到安全账户。")
    assert scam.verdict == "scam" and {"screen_share", "safe_account"} <= {
        f["flag"] for f in scam.red_flags
    }
    # "this is not a scam" is no warning
    assert checker.check("放心，这不是诈骗，请把钱转到安全账户。").verdict == "scam"


@pytest.mark.parametrize(
    "text",
    [
        "【公安局】你涉嫌一起电信网络诈骗案件，请立即拨打 00852-51736048 联系办案民警说明情况。",
        "奶奶接到电话说她卷进了诈骗案，让她取5万现金交给上门的人核查，不能告诉家人。这肯定是骗子吧？",
    ],
)
def test_an_accusation_or_a_question_is_not_a_warning(rules, text):
    """ "你涉嫌…诈骗案件" is the fake-police script and "肯定是骗子吧？" a worried reader's
    question: neither counts as the message warning about scams."""
    hits = {h.flag for h in rules.detect(text) if h.weight < 0}
    assert "legit_warning" not in hits
    # the same words as a statement still warn
    warned = {h.flag for h in rules.detect("近期冒充公检法诈骗案件高发，都是诈骗，请勿转账。")}
    assert "legit_warning" in warned


@pytest.mark.parametrize(
    "text",
    [
        "跟你说，今天有人冒充客服让我注销学生账户，还让我开屏幕共享，我直接挂了。",
        "My aunt got a WhatsApp offering £300 a day to like videos. I told her it's a task scam.",
    ],
)
def test_a_retold_or_warned_scam_is_not_the_scam_itself(checker, text):
    result = checker.check(text)
    assert result.verdict == "legit", (result.red_flags, result.signals)
    assert result.signals["frame_factor"] < 1


def test_the_frame_only_scales_red_flags(rules, taxonomy):
    text = "今天有人让我开屏幕共享，把钱转到安全账户，我直接挂了。"
    weights = dict(CheckWeights.load().data)
    full = Checker(rules, taxonomy, weights={**weights, "frames": {"factor": 1.0}}).check(text)
    framed = Checker(rules, taxonomy, weights=weights).check(text)
    factor = weights["frames"]["factor"]
    assert full.signals["flags"] > 0 and framed.signals["frame_factor"] == factor
    assert framed.signals["flags"] == pytest.approx(factor * full.signals["flags"], abs=1e-3)
    assert framed.probability < full.probability


def test_result_serialises_and_legit_has_no_topics(checker):
    legit = checker.check(LEGIT[1])
    assert legit.topics == [] and legit.confidence > 0.5
    json.dumps(checker.check(SCAMS[0][0]).to_dict(), ensure_ascii=False)


@pytest.mark.parametrize(("text", "topic"), SCAMS)
def test_clear_scams_come_out_scam_with_the_product_signals(
    rules, taxonomy, real_bank, real_wording, text, topic
):
    checker = Checker(rules, taxonomy, examples=real_bank, wording=real_wording)
    result = checker.check(text)
    assert result.verdict == "scam" and result.topics[0] == topic, result.signals


@pytest.mark.parametrize(("text", "topic"), SCAMS)
def test_the_rules_alone_catch_clear_scams_with_the_right_topic(checker, text, topic):
    result = checker.check(text)
    assert result.verdict != "legit", (result.red_flags, result.signals)
    assert result.topics[0] == topic
    assert 0.5 < result.confidence <= 1
    for flag in result.red_flags:
        assert flag["quote"] in text and flag["label"] and flag["weight"] > 0


def test_language_picks_the_labels(checker):
    zh = checker.check("请把验证码发给我。")
    en = checker.check("please send me the code", lang="en")
    assert zh.lang == "zh" and zh.red_flags[0]["label"] == "索要验证码或密码"
    assert en.lang == "en" and en.red_flags[0]["label"].startswith("asks for")


def test_taxonomy_object_is_accepted(rules):
    checker = Checker(rules, Taxonomy.load(TAXONOMY_PATH))
    assert checker.check(SCAMS[0][0]).topics[0] == "advance-fee-loan"


def test_without_search_there_is_no_evidence_and_no_citation(checker):
    result = checker.check(SCAMS[0][0])
    text, citations = render_check(result)
    assert result.evidence == [] and citations == []
    assert "[" not in text and "110" in text


# ------------------------------------------------------------------ evidence and citations
def _chunk(doc: str, section: str, n: int, text: str, topic: str, lang: str = "zh") -> Chunk:
    return Chunk(
        chunk_id=f"{doc}#{section}#{n}",
        doc_id=doc,
        section=section,
        n=n,
        text=text,
        title=doc,
        lang=lang,
        topics=(topic,),
        url=f"https://example.org/{doc}",
        source_title="src",
        publisher="pub",
        date="2025-01-01",
    )


KB = [
    _chunk(
        "zh-advance",
        "lures",
        0,
        "“银行卡号填错了，资金被冻结，交解冻费才能放款。”",
        "advance-fee-loan",
    ),
    _chunk("zh-advance", "flags", 0, "放款前要求先交任何费用的，都是诈骗。", "advance-fee-loan"),
    _chunk(
        "zh-advance", "todo", 0, "不要再转账。已经转账的，立即拨打110报警。", "advance-fee-loan"
    ),
    _chunk("zh-advance", "what", 0, "虚假贷款App会以各种名义收费。", "advance-fee-loan"),
    _chunk("zh-fcs", "lures", 0, "“请开启屏幕共享，把钱转入安全账户。”", "fake-customer-service"),
    _chunk(
        "en-advance",
        "lures",
        0,
        '"Pay the processing fee today and the funds go out."',
        "advance-fee-loan",
        "en",
    ),
]


def fake_search(text: str, k: int) -> list[Passage]:
    """Score = share of the chunk's 2-character grams found in the query (a keyword fake)."""

    def score(c: Chunk) -> float:
        grams = {c.text[i : i + 2] for i in range(len(c.text) - 1)}
        return len(grams & {text[i : i + 2] for i in range(len(text) - 1)}) / max(1, len(grams))

    ranked = sorted(KB, key=score, reverse=True)
    return [Passage(c, 0.8 + 0.2 * score(c)) for c in ranked[:k]]


@pytest.fixture(scope="module")
def searched(rules, taxonomy) -> CheckResult:
    return Checker(rules, taxonomy, search=fake_search).check(SCAMS[0][0])


def test_evidence_prefers_lure_sections_of_the_matched_topic(searched):
    assert searched.evidence
    first_flag = next(f for f in searched.explanation_parts.flags if f.flag == "fee_before_loan")
    chunk = searched.evidence[first_flag.evidence].chunk
    assert chunk.section == "lures" and "advance-fee-loan" in chunk.topics
    assert searched.explanation_parts.todo_evidence is not None
    assert searched.evidence[searched.explanation_parts.todo_evidence].chunk.section == "todo"
    assert all(p.chunk.section != "what" for p in searched.evidence)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_render_check_citations_resolve(searched, lang):
    text, citations = render_check(searched, lang)
    used = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert used, text
    assert sorted(set(used)) == list(range(1, len(citations) + 1))
    evidence_ids = {p.chunk.chunk_id for p in searched.evidence}
    texts = {p.chunk.chunk_id: p.text for p in searched.evidence}
    for c in citations:
        assert c.chunk_id in evidence_ids and c.quote
        for quoted in c.passages:  # one citation per article, each quoted passage kept
            assert quoted["quote"] in texts[quoted["chunk_id"]]
    assert len({c.doc_id for c in citations}) == len(citations)
    # every citation marker closes its own sentence
    assert re.findall(r"\[\d+\](?![。.，,：:；;！!？?\]\s]|$)", text) == []
    assert ("结论" in text) == (lang == "zh")


def test_legit_results_skip_evidence(rules, taxonomy):
    result = Checker(rules, taxonomy, search=fake_search).check(LEGIT[1])
    assert result.verdict == "legit" and result.evidence == []
    text, citations = render_check(result)
    assert citations == [] and "请勿泄露" in text


# ------------------------------------------------------------------ the evaluation set
def _rows(split: str) -> list[dict]:
    rows = [json.loads(line) for line in MESSAGES.read_text(encoding="utf-8").splitlines()]
    return [r for r in rows if r["split"] == split]


def test_dataset_shape():
    rows = _rows("holdout")  # the tune rows moved into the example bank in session 5
    assert len(rows) >= 170 and sum(r["lang"] == "zh" for r in rows) >= 85
    taxonomy = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    for topic in taxonomy["topics"]:
        if topic == "reporting-and-help":
            continue
        scam = [r for r in rows if r["label"] == "scam" and topic in r["topics"]]
        assert (
            sum(r["lang"] == "zh" for r in scam) >= 4 and sum(r["lang"] == "en" for r in scam) >= 2
        ), topic


# --- personal data in a checked message ---------------------------------------------------


def test_rules_see_numbers_but_quotes_never_carry_personal_data(checker):
    # a premium-rate line is a red flag only if the rules can read it; the mobile number and
    # the code are the sender's / user's data and must not come back in any quote
    text = "URGENT! You have won £2000. Call 09061234567 now or text 13812345678, code 482913"
    result = checker.check(text, "en")
    flags = {f["flag"]: f["quote"] for f in result.red_flags}
    assert result.verdict != "legit" and "premium_rate" in flags
    shown = json.dumps(result.to_dict(), ensure_ascii=False) + render_check(result, "en")[0]
    for secret in ("13812345678", "482913", "09061234567"):
        assert secret not in shown
    assert "[PHONE]" in flags["premium_rate"]


def test_responder_check_does_not_echo_numbers(indexed):
    from bot.responder import Responder

    text = "【通知】恭喜中奖！请拨打0906 1234567领取，联系人手机13812345678，验证码 482913 发给客服"
    answer = Responder(indexed).respond(text, task="check")
    assert answer.verdict != "legit"
    shown = answer.text + json.dumps(answer.extra["check"], ensure_ascii=False)
    for secret in ("13812345678", "482913"):
        assert secret not in shown


def test_a_paid_recovery_of_lost_money_is_named_by_its_topic(checker):
    """`reporting-and-help` is never named for a scam (a help channel is no scam pattern),
    except when a red flag points at it: a fee to "recover" money lost to an earlier scam."""
    result = checker.check(
        "您在投资平台被骗的资金已冻结，我们追损团队可帮您全额追回，需先交3000元保证金。"
    )
    assert result.verdict != "legit"
    assert "recovery_fee" in {f["flag"] for f in result.red_flags}
    assert "reporting-and-help" in result.topics
    text, _ = render_check(result, "zh")
    assert "追回损失" in text and "求助与举报渠道" not in text
    assert (
        "reporting-and-help"
        not in checker.check("被骗了可以拨打110报警，也可以拨打96110咨询。").topics
    )
