"""Generated sentences full of numbers: prices, phone numbers, dates, times, units, counters.

Each template is filled several times with values drawn from a seeded generator. A field is written
`{kind}`, or `{kind|이에요/예요}` to append the particle form that suits the value as the frontend
reads it (3 → 삼이에요, 6.5L → 육 점 오 리터를). The frontend reads every digit in context, so these sentences
teach the voice the readings users will hear most from an assistant.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping

from assistant.particles import particle_for
from tts.text import normalize_text

Generator = Callable[[random.Random], str]

_NATIVE_NOUNS = (
    ("사과", "개"),
    ("귤", "개"),
    ("학생", "명"),
    ("손님", "명"),
    ("고양이", "마리"),
    ("강아지", "마리"),
    ("커피", "잔"),
    ("맥주", "병"),
    ("책", "권"),
    ("표", "장"),
    ("자동차", "대"),
    ("김밥", "줄"),
    ("신발", "켤레"),
    ("연필", "자루"),
    ("장미", "송이"),
    ("배추", "포기"),
    ("나무", "그루"),
    ("편지", "통"),
    ("라면", "봉지"),
    ("노래", "곡"),
    ("옷", "벌"),
    ("달걀", "알"),
    ("의자", "개"),
    ("우산", "개"),
    ("물고기", "마리"),
)
"""Nouns with the native-Korean counter they take (세 개, 두 명, 다섯 마리)."""


def _price(rng: random.Random) -> str:
    value = rng.choice(
        (rng.randint(1, 99) * 100, rng.randint(1, 500) * 1000, rng.randint(1, 90) * 10000)
    )
    return f"{value:,}원" if rng.random() < 0.6 else f"{value}원"


def _small_price(rng: random.Random) -> str:
    value = rng.randint(3, 250) * 100
    return f"{value:,}원" if rng.random() < 0.6 else f"{value}원"


def _big_money(rng: random.Random) -> str:
    return f"{rng.randint(1, 999) * 1_000_000:,}원"


def _phone(rng: random.Random) -> str:
    digits = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
    return rng.choice(
        (
            f"010-{digits(4)}-{digits(4)}",
            f"02-{digits(3)}-{digits(4)}",
            f"1588-{digits(4)}",
            f"031-{digits(3)}-{digits(4)}",
            f"051-{digits(3)}-{digits(4)}",
        )
    )


def _date(rng: random.Random) -> str:
    return f"{rng.randint(1950, 2040)}년 {_month_day(rng)}"


def _month_day(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}월 {rng.randint(1, 28)}일"


def _clock(rng: random.Random) -> str:
    hour, minute = (
        rng.randint(0, 23),
        rng.choice((0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, rng.randint(1, 59))),
    )
    if rng.random() < 0.4:
        return f"{hour}:{minute:02d}"
    period = rng.choice(("오전", "새벽")) if hour < 12 else rng.choice(("오후", "저녁"))
    hour12 = hour % 12 or 12
    return f"{period} {hour12}시" + (f" {minute}분" if minute else rng.choice(("", " 반", " 정각")))


def _temperature(rng: random.Random) -> str:
    value = rng.randint(-20, 38)
    if value < 0:
        return f"영하 {-value}도"
    return rng.choice((f"{value}도", f"{value}.5도", f"{value}°C"))


def _distance(rng: random.Random) -> str:
    return rng.choice(
        (
            f"{rng.randint(1, 42)}km",
            f"{rng.randint(1, 9)}.{rng.randint(1, 9)}km",
            f"{rng.randint(10, 950)}m",
        )
    )


def _weight(rng: random.Random) -> str:
    return rng.choice(
        (f"{rng.randint(1, 95)}kg", f"{rng.randint(1, 9) * 50}g", f"{rng.randint(1, 9)}.5kg")
    )


def _volume(rng: random.Random) -> str:
    return rng.choice(
        (f"{rng.randint(1, 5)}L", f"{rng.randint(1, 9)}.5L", f"{rng.randint(1, 20) * 50}mL")
    )


def _height(rng: random.Random) -> str:
    return f"{rng.randint(95, 195)}cm"


def _percent(rng: random.Random) -> str:
    return rng.choice((f"{rng.randint(1, 100)}%", f"{rng.randint(0, 99)}.{rng.randint(1, 9)}%"))


def _native_count(rng: random.Random) -> str:
    noun, counter = rng.choice(_NATIVE_NOUNS)
    return f"{noun} {rng.randint(1, 30)}{counter}"


def _duration(rng: random.Random) -> str:
    hours, minutes = rng.randint(0, 5), rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50))
    if not hours:
        return f"{minutes or 30}분"
    return f"{hours}시간" + (f" {minutes}분" if minutes else rng.choice(("", " 반")))


def _decimal(rng: random.Random) -> str:
    return f"{rng.randint(0, 99)}.{rng.randint(1, 99)}"


GENERATORS: Mapping[str, Generator] = {
    "price": _price,
    "small_price": _small_price,
    "big_money": _big_money,
    "phone": _phone,
    "date": _date,
    "month_day": _month_day,
    "clock": _clock,
    "temperature": _temperature,
    "distance": _distance,
    "weight": _weight,
    "small_weight": lambda rng: rng.choice(
        (f"{rng.randint(1, 9)}kg", f"{rng.randint(1, 9) * 100}g")
    ),
    "volume": _volume,
    "height": _height,
    "percent": _percent,
    "native_count": _native_count,
    "duration": _duration,
    "decimal": _decimal,
    "small": lambda rng: str(rng.randint(1, 12)),
    "number": lambda rng: str(rng.randint(2, 99)),
    "age": lambda rng: str(rng.randint(1, 99)),
    "year": lambda rng: str(rng.randint(1392, 2040)),
    "bus": lambda rng: str(
        rng.choice((rng.randint(1, 99), rng.randint(100, 799), rng.randint(1000, 9999)))
    ),
    "score": lambda rng: f"{rng.randint(1, 4)}.{rng.randint(0, 9)}",
}
"""Field kind → a function drawing one written value of that kind."""

TEMPLATES = (
    "이 책은 {small_price|이에요/예요}.",
    "커피 한 잔에 {small_price}입니다.",
    "총 결제 금액은 {price}입니다.",
    "어제 친구에게 {price|을/를} 보냈어요.",
    "이번 달 전기 요금이 {price} 나왔어요.",
    "택시비가 {small_price}쯤 들었어요.",
    "이 아파트는 {big_money}에 팔렸습니다.",
    "제 전화번호는 {phone|이에요/예요}.",
    "{phone|으로/로} 전화해 주세요.",
    "예약 문의는 {phone|으로/로} 부탁드립니다.",
    "고객센터 번호 {phone|을/를} 메모해 두세요.",
    "회의는 {date}에 열립니다.",
    "{date|은/는} 할머니 생신이에요.",
    "원서 접수는 {month_day}까지입니다.",
    "{month_day}부터 일주일 동안 휴가예요.",
    "이 건물은 {year}년에 지어졌어요.",
    "기차는 {clock}에 출발합니다.",
    "내일은 {clock}까지 오시면 됩니다.",
    "알람을 {clock|으로/로} 맞췄어요.",
    "영화는 {clock}에 시작해요.",
    "우리는 {clock}에 공원 입구에서 만나기로 했다.",
    "내일 아침 기온은 {temperature|이에요/예요}.",
    "물을 {temperature}까지 데워 주세요.",
    "오늘 낮 최고 기온은 {temperature|으로/로} 예상됩니다.",
    "냉장고 온도를 {temperature|으로/로} 낮췄다.",
    "집에서 학교까지 {distance|이에요/예요}.",
    "매일 아침 {distance|을/를} 달립니다.",
    "다음 휴게소까지 {distance} 남았습니다.",
    "이 가방의 무게는 {weight|이에요/예요}.",
    "밀가루 {weight|을/를} 넣어 주세요.",
    "지난달보다 몸무게가 {small_weight} 늘었어요.",
    "우유 {volume|을/를} 샀어요.",
    "하루에 물을 {volume}씩 마셔요.",
    "아이의 키는 {height|이에요/예요}.",
    "투표율이 {percent|을/를} 넘었습니다.",
    "배터리가 {percent} 남았어요.",
    "전체 학생의 {percent|이/가} 찬성했다.",
    "이번 주 할인율은 {percent|이에요/예요}.",
    "{native_count} 주세요.",
    "어제 시장에서 {native_count|을/를} 샀어요.",
    "교실에는 {native_count|이/가} 있었다.",
    "올해로 {age}살이 되었어요.",
    "이번이 {small}번째 방문이에요.",
    "{small}층으로 올라가세요.",
    "{small}번 출구로 나오시면 됩니다.",
    "{bus}번 버스를 타세요.",
    "제{number}회 졸업식이 강당에서 열렸다.",
    "{duration} 동안 기다렸어요.",
    "여기서 공항까지 약 {duration} 걸립니다.",
    "{number}분 뒤에 다시 전화할게요.",
    "이 식당의 평점은 {score}점이에요.",
    "주가가 하루 만에 {decimal}% 올랐다.",
    "지난 {number}년 동안 이 마을에서 살았습니다.",
    "시속 {number}km로 달리면 늦지 않아요.",
    "{small} 대 {small|으로/로} 우리 팀이 이겼어요.",
    "{number}인치 모니터를 새로 샀어요.",
    "{number}평짜리 집으로 이사했어요.",
    "일주일에 {small}번 수영장에 가요.",
)
"""Sentence templates: `{kind}` takes a value from GENERATORS, `{kind|pair}` adds a particle."""

_FIELD = re.compile(r"\{(\w+)(?:\|([^}]+))?\}")


def fill(template: str, rng: random.Random) -> str:
    """One sentence from a template, each field drawn anew from its generator."""

    def value(match: re.Match[str]) -> str:
        kind, particle = match.group(1), match.group(2)
        text = GENERATORS[kind](rng)
        if not particle:
            return text
        return text + particle_for(normalize_text(text)[0], particle)

    return _FIELD.sub(value, template)


def number_sentences(seed: int, per_template: int) -> list[str]:
    """Every template filled per_template times (duplicates removed, first kept), template order."""
    sentences: dict[str, None] = {}
    for index, template in enumerate(TEMPLATES):
        rng = random.Random(f"{seed}:numbers:{index}")
        for _ in range(per_template):
            sentences[fill(template, rng)] = None
    return list(sentences)
