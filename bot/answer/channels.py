"""The official help line or site a question asks about ("96110 打给我的是真的吗？",
"Is annualcreditreport.com the real site?").

`OfficialChannels.load()` reads `knowledge/hotlines.yaml`, the list of every number and address
the bot may mention. `asked_about(question)` returns the listed number or address (and its
kind: phone, sms, web, email) that a yes/no question asks to confirm, or None when:
- the question names none of them, or does not ask whether it is real: no sentence of it is a
  yes/no question (`is_yes_no`, injected) and none of the `channel_real` words of
  `bot/answer/asks.yaml` is in it;
- the question also tells of a request (someone "from 96110" who wants a transfer, an app, a
  code: `channel_request` in `bot/answer/asks.yaml`) or a red flag of the scam check fires
  (`suspicious`, injected). A caller can fake a real number, so such a question is answered
  as a possible scam, never with "yes, it is official".

It does not confirm anything by itself: the composer leads with "yes" only when a retrieved
passage names the same channel, and cites that passage. It decides nothing about safety.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.config import ROOT

_SENTENCE_END = re.compile(r"(?<=[?？!！。])\s*|(?<=\.)\s+")
HOTLINES_PATH = ROOT / "knowledge" / "hotlines.yaml"
ASKS_PATH = Path(__file__).resolve().parent / "asks.yaml"


@dataclass(frozen=True)
class Channel:
    text: str  # as written in hotlines.yaml: "96110", "0300 123 2040", "annualcreditreport.com"
    kind: str  # phone | sms | web | email
    pattern: re.Pattern[str]

    def found_in(self, text: str) -> bool:
        return bool(self.pattern.search(text))


def _pattern(text: str) -> re.Pattern[str]:
    """A number matches with any spaces or hyphens between its digit groups and no digit on
    either side ("110" is not in "96110"); an address matches case-insensitively, also with a
    subdomain ("www.pbccrc.org.cn"), but not inside a longer name ("fake-pbccrc.org.cn",
    "pbccrc.org.cn.verify.top": a lookalike is never confirmed)."""
    if re.fullmatch(r"[\d\s-]+", text):
        digits = r"[\s-]?".join(re.escape(g) for g in re.split(r"[\s-]+", text.strip()))
        return re.compile(rf"(?<!\d){digits}(?!\d)")
    return re.compile(
        rf"(?<![A-Za-z0-9_-]){re.escape(text)}(?![A-Za-z0-9_-]|\.[A-Za-z0-9])", re.IGNORECASE
    )


class OfficialChannels:
    def __init__(
        self,
        channels: list[Channel],
        request: list[re.Pattern[str]],
        real: list[re.Pattern[str]],
        is_yes_no: Callable[[str, str], bool],
        suspicious: Callable[[str], bool] | None = None,
    ):
        # longest first: "ipcrs.pbccrc.org.cn" before "pbccrc.org.cn", "010-12321" before "12321"
        self.channels = sorted(channels, key=lambda c: -len(c.text))
        self.request = request
        self.real = real
        self.is_yes_no = is_yes_no
        self.suspicious = suspicious or (lambda _text: False)

    @classmethod
    def load(
        cls,
        is_yes_no: Callable[[str, str], bool],
        suspicious: Callable[[str], bool] | None = None,
        hotlines: Path | str = HOTLINES_PATH,
        asks: Path | str = ASKS_PATH,
    ) -> OfficialChannels:
        entries = (yaml.safe_load(Path(hotlines).read_text(encoding="utf-8")) or {})["entries"]
        channels = []
        for e in entries:
            text = str(e.get("number") or e.get("address") or "").strip()
            if text:
                channels.append(Channel(text, str(e.get("kind", "phone")), _pattern(text)))
        words = yaml.safe_load(Path(asks).read_text(encoding="utf-8")) or {}
        request = [re.compile(p, re.IGNORECASE) for p in words["channel_request"]]
        real = [re.compile(p, re.IGNORECASE) for p in words["channel_real"]]
        return cls(channels, request, real, is_yes_no, suspicious)

    def asked_about(self, question: str, lang: str) -> Channel | None:
        """The listed channel a yes/no question asks to confirm (see the module docstring)."""
        found = next((c for c in self.channels if c.found_in(question)), None)
        if found is None:
            return None
        # the address's dots would end an English question early: "Is X the real site?"
        plain = found.pattern.sub("X", question)
        sentences = [x for x in _SENTENCE_END.split(plain) if x.strip()]
        asks_real = any(r.search(plain) for r in self.real)
        if not asks_real and not any(self.is_yes_no(x, lang) for x in sentences):
            return None
        if any(r.search(question) for r in self.request) or self.suspicious(question):
            return None
        return found
