"""Data the read-out rules consult: counters, units, currencies, symbol words and pauses.

Kept as plain tables so a wrong reading is fixed by editing one line, not a chain of ifs.
"""

from __future__ import annotations

from enum import Enum


class Reading(Enum):
    """How a number is read before a given counter."""

    SINO = "sino"
    """Sino-Korean: 3분 → 삼 분, 3층 → 삼 층."""
    NATIVE = "native"
    """Native Korean up to 99, fused neighbour ranges allowed: 3개 → 세 개, 3~4명 → 서너 명."""
    HOUR = "hour"
    """Native hour of the clock: 3시 → 세 시, 12시 → 열두 시, 0시 → 영 시."""
    ORDINAL = "ordinal"
    """Native ordinal before 번째: 1번째 → 첫 번째, 101번째 → 백한 번째."""
    JJAE = "jjae"
    """Ordinal with bare 째: 1째 → 첫째, 2째 → 둘째."""
    MONTH = "month"
    """Month name with irregular forms: 6월 → 유월, 10월 → 시월."""
    DECADE = "decade"
    """대: multiples of ten are age groups (20대 → 이십 대), others count vehicles (2대 → 두 대)."""
    FREQUENCY = "frequency"
    """번: a number label (3번 출구 → 삼 번) unless a frequency word follows (3번씩 → 세 번씩)."""


_NATIVE_COUNTERS = (
    "시간 개 명 살 마리 잔 권 장 달 그루 병 벌 켤레 곳 가지 채 척 통 송이 자루 군데 사람 배 "
    "줄 판 쌍 알 봉지 상자 그릇 접시 컵 팀 톨 포기 방울 모금 걸음 바퀴 끼 개비 갑 골 곡 칸 "
    "차례 방 표 글자 문장 마디 살배기 주먹 다발 꾸러미 대접 숟가락 스푼 조각 모 공기 덩이 뿌리 타래"
)
"""Counters that take native numbers (세 개, 열 명, 일곱 살, 두 잔, 다섯 시간)."""

_SINO_COUNTERS = (
    "분 초 원 년 월 일 층 도 번지 번호 호 회 주 주년 주차 퍼센트 프로 개월 개국 개년 개소 세 "
    "세기 인 인분 인승 차 위 등 등급 점 쪽 페이지 편 단계 박 강 승 패 무 선 학년 교시 호선 "
    "호실 동 리 킬로 킬로미터 킬로그램 미터 센티 센티미터 그램 리터 톤 평 달러 엔 유로 "
    "위안 파운드 억 만 천 백 조 부 절 권역 기 대대 연대 사단 시즌 시리즈 배럴 와트 볼트 "
    "칼로리 헤르츠 바이트 기가 메가 테라 밀리 마일 피트 인치 야드 광년 라운드 이닝 "
    "세트 쿼터 홀 타 포인트 퍼센트포인트 반"
)
"""Counters read with Sino-Korean numbers (삼 분, 십오 초, 천 원, 삼 층, 이십 도)."""

_SPECIAL_COUNTERS = {
    "시": Reading.HOUR,
    "번째": Reading.ORDINAL,
    "째": Reading.JJAE,
    "월": Reading.MONTH,
    "대": Reading.DECADE,
    "번": Reading.FREQUENCY,
}  # fmt: skip

COUNTERS: dict[str, Reading] = {
    **{word: Reading.SINO for word in _SINO_COUNTERS.split()},
    **{word: Reading.NATIVE for word in _NATIVE_COUNTERS.split()},
    **_SPECIAL_COUNTERS,
}  # fmt: skip
"""Every counter the read-out knows, longest match wins (개월 before 개, 시간 before 시)."""

FREQUENCY_FOLLOWERS = (
    "씩",
    "이나",
    "만에",
    "정도",
    "쯤",
    "가량",
    "이상",
    "이하",
    "더",
    "다시",
    "째",
)
"""After 번, these mark a count of times (하루 3번씩 → 세 번씩), not a label (3번 출구)."""

FREQUENCY_LEADERS = (
    "하루",
    "일주일에",
    "한 달에",
    "매일",
    "매주",
    "매달",
    "매년",
    "년에",
    "주에",
    "달에",
)
"""Before a number with 번, these mark a count of times (하루 3번 → 하루 세 번)."""

SILENT_ONE_MAGNITUDES = ("십", "백", "천", "만")
"""Magnitudes whose 1 is not said: 1만 → 만, 1천 → 천 (but 1억 → 일억)."""

UNITS: dict[str, tuple[str, str]] = {
    "km/h": ("시속", "킬로미터"), "m/s": ("초속", "미터"), "mph": ("시속", "마일"),
    "km²": ("", "제곱킬로미터"), "m²": ("", "제곱미터"), "cm²": ("", "제곱센티미터"),
    "m³": ("", "세제곱미터"), "cm³": ("", "세제곱센티미터"),
    "km": ("", "킬로미터"), "m": ("", "미터"), "cm": ("", "센티미터"), "mm": ("", "밀리미터"),
    "μm": ("", "마이크로미터"), "nm": ("", "나노미터"),
    "kg": ("", "킬로그램"), "g": ("", "그램"), "mg": ("", "밀리그램"), "μg": ("", "마이크로그램"),
    "L": ("", "리터"), "l": ("", "리터"), "mL": ("", "밀리리터"), "ml": ("", "밀리리터"),
    "dL": ("", "데시리터"), "kL": ("", "킬로리터"), "cc": ("", "시시"),
    "°C": ("섭씨", "도"), "°F": ("화씨", "도"), "°": ("", "도"),
    "%p": ("", "퍼센트포인트"), "%": ("", "퍼센트"), "‰": ("", "퍼밀"),
    "TB": ("", "테라바이트"), "GB": ("", "기가바이트"), "MB": ("", "메가바이트"),
    "KB": ("", "킬로바이트"), "kB": ("", "킬로바이트"),
    "Gbps": ("", "기가비피에스"), "Mbps": ("", "메가비피에스"),
    "GHz": ("", "기가헤르츠"), "MHz": ("", "메가헤르츠"), "kHz": ("", "킬로헤르츠"),
    "Hz": ("", "헤르츠"), "kWh": ("", "킬로와트시"), "kW": ("", "킬로와트"),
    "MW": ("", "메가와트"), "mW": ("", "밀리와트"), "W": ("", "와트"), "kV": ("", "킬로볼트"),
    "V": ("", "볼트"), "mAh": ("", "밀리암페어시"), "mA": ("", "밀리암페어"),
    "μA": ("", "마이크로암페어"), "kcal": ("", "킬로칼로리"), "cal": ("", "칼로리"),
    "ha": ("", "헥타르"), "dB": ("", "데시벨"), "ppm": ("", "피피엠"), "px": ("", "픽셀"),
    "fps": ("", "프레임"), "ms": ("", "밀리초"), "sec": ("", "초"), "min": ("", "분"),
    "inch": ("", "인치"), "ft": ("", "피트"), "lb": ("", "파운드"), "lbs": ("", "파운드"),
    "oz": ("", "온스"), "mi": ("", "마일"),
    "USD": ("", "달러"), "KRW": ("", "원"), "EUR": ("", "유로"), "JPY": ("", "엔"),
    "CNY": ("", "위안"), "GBP": ("", "파운드"),
}  # fmt: skip
"""Unit spellings after a number → (word said before the number, word said after): Sino."""

CURRENCY_SIGNS = {
    "$": "달러",
    "₩": "원",
    "￦": "원",
    "€": "유로",
    "¥": "엔",
    "￥": "엔",
    "£": "파운드",
    "￡": "파운드",
    "₹": "루피",
    "₽": "루블",
    "元": "위안",
}
"""Currency signs written before (or after) an amount: $5 → 오 달러, ₩1,000 → 천 원."""

OPERATORS = {"+": "더하기", "-": "빼기", "×": "곱하기", "*": "곱하기", "÷": "나누기"}
"""Arithmetic between two numbers: 1 + 2 → 일 더하기 이."""

SYMBOL_WORDS = {
    "&": "앤",
    "+": "플러스",
    "@": "앳",
    "%": "퍼센트",
    "‰": "퍼밀",
    "°": "도",
    "±": "플러스 마이너스",
    "№": "넘버",
    "×": "곱하기",
    "÷": "나누기",
    **CURRENCY_SIGNS,
}
"""Symbols that are spoken even with no number around them (R&D → 알앤디, C++)."""

PAUSES = {
    ";": ",",
    ":": ",",
    "—": ",",
    "|": ",",
    "(": ",",
    ")": ",",
    "[": ",",
    "]": ",",
    "{": ",",
    "}": ",",
    "<": ",",
    ">": ",",
    "「": ",",
    "」": ",",
    "『": ",",
    "』": ",",
    "《": ",",
    "》": ",",
    "〈": ",",
    "〉": ",",
    "【": ",",
    "】": ",",
    "〔": ",",
    "〕": ",",
    "·": " ",
    "/": " ",
    "-": " ",
    "_": " ",
    "\\": " ",
    '"': "",
    "'": "",
    "`": "",
}
"""Punctuation with no sound, mapped to the pause it stands for (or to nothing, for quotes)."""

ENGLISH_DIGITS = ("제로", "원", "투", "쓰리", "포", "파이브", "식스", "세븐", "에잇", "나인")
"""Single digits inside Latin codes are said in English: MP3 → 엠피쓰리, 4K → 포케이."""

ENGLISH_ORDINALS = {
    1: "퍼스트",
    2: "세컨드",
    3: "서드",
    4: "포스",
    5: "피프스",
    6: "식스스",
    7: "세븐스",
    8: "에잇스",
    9: "나인스",
    10: "텐스",
}
"""1st .. 10th said in English; higher ones become native ordinals (21st → 스물한 번째)."""

LATIN_ABBREVIATIONS = {
    "Mr.": "미스터", "Mrs.": "미시즈", "Ms.": "미즈", "Dr.": "닥터", "Prof.": "프로페서",
    "Jr.": "주니어", "Sr.": "시니어", "St.": "세인트", "Inc.": "인크", "Ltd.": "리미티드",
    "Co.": "컴퍼니", "vs.": "대", "vs": "대", "etc.": "등", "e.g.": "예를 들어", "i.e.": "즉",
    "No.": "넘버",
}  # fmt: skip
"""Abbreviations said as words, not letters or dictionary guesses (Dr. → 닥터, vs → 대)."""
