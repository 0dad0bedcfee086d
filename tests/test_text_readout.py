"""Golden table of the read-out stage: what a Korean newsreader says for digits, units and English.

Each row pins one reading a listener would notice if it broke (세 시 vs 삼 시, 유월 vs 육월).
"""

from __future__ import annotations

import pytest

from tts.text.frontend import normalize_text
from tts.text.normalize import normalize

GOLDEN = [
    # Sino-Korean cardinals, separators, negatives, decimals, large numbers
    ("2026", "이천이십육"),
    ("1,234,567", "백이십삼만 사천오백육십칠"),
    ("-5", "마이너스 오"),
    ("3.14", "삼 점 일사"),
    ("0.5", "영 점 오"),
    ("10000", "만"),
    ("1억 5천만 원", "일억 오천만 원"),
    ("1만 원", "만 원"),
    ("3만 명", "삼만 명"),
    ("1,000만 원", "천만 원"),
    ("007", "공공칠"),
    # native numbers before native counters
    ("3시", "세 시"),
    ("1시", "한 시"),
    ("12시", "열두 시"),
    ("24시", "스물네 시"),
    ("0시", "영 시"),
    ("3시간", "세 시간"),
    ("10명", "열 명"),
    ("7살", "일곱 살"),
    ("20살", "스무 살"),
    ("21살", "스물한 살"),
    ("2개", "두 개"),
    ("5마리", "다섯 마리"),
    ("4잔", "네 잔"),
    ("3권", "세 권"),
    ("2장", "두 장"),
    ("3달", "세 달"),
    ("2병", "두 병"),
    ("3켤레", "세 켤레"),
    ("두부 2모", "두부 두 모"),
    ("밥 2공기", "밥 두 공기"),
    ("2배", "두 배"),
    ("3조각", "세 조각"),
    ("100명", "백 명"),
    ("3 명이 왔다", "세 명이 왔다"),
    ("총3개", "총 세 개"),
    ("오후3시", "오후 세 시"),
    # ordinals
    ("1번째", "첫 번째"),
    ("2번째", "두 번째"),
    ("21번째", "스물한 번째"),
    ("101번째", "백한 번째"),
    ("2째", "둘째"),
    ("제1장", "제일 장"),
    ("제2차 세계대전", "제이 차 세계대전"),
    # Sino-Korean before Sino counters
    ("15분", "십오 분"),
    ("30초", "삼십 초"),
    ("3층", "삼 층"),
    ("3번 출구", "삼 번 출구"),
    ("하루 3번", "하루 세 번"),
    ("3번씩", "세 번씩"),
    ("3개월", "삼 개월"),
    ("12개국", "십이 개국"),
    ("30세", "삼십 세"),
    ("1위", "일 위"),
    ("2인분", "이 인분"),
    ("5회", "오 회"),
    ("1학년 3반", "일 학년 삼 반"),
    ("20대 남성", "이십 대 남성"),
    ("차 2대", "차 두 대"),
    # dates and months
    ("1월", "일월"),
    ("6월", "유월"),
    ("10월", "시월"),
    ("11월", "십일월"),
    ("2026-11-21", "이천이십육 년 십일월 이십일 일"),
    ("2026.11.21", "이천이십육 년 십일월 이십일 일"),
    ("2026/06/10", "이천이십육 년 유월 십 일"),
    ("2026년 11월 21일", "이천이십육 년 십일월 이십일 일"),
    ("11월 21일(토)", "십일월 이십일 일 토요일"),
    ("2박 3일", "이 박 삼 일"),
    # times
    ("14:30", "열네 시 삼십 분"),
    ("18:05", "열여덟 시 오 분"),
    ("12:00", "열두 시"),
    ("09:05:30", "아홉 시 오 분 삼십 초"),
    ("9시 40분", "아홉 시 사십 분"),
    ("오전 9:30", "오전 아홉 시 삼십 분"),
    ("3pm", "오후 세 시"),
    ("7시간 30분", "일곱 시간 삼십 분"),
    # phone numbers digit by digit
    ("010-1234-5678", "공일공 일이삼사 오육칠팔"),
    ("01012345678", "공일공 일이삼사 오육칠팔"),
    ("1588-1234", "일오팔팔 일이삼사"),
    ("02-123-4567", "공이 일이삼 사오육칠"),
    ("+82 10-1234-5678", "플러스 팔이 일공 일이삼사 오육칠팔"),
    ("119에 신고", "일일구에 신고"),
    # percent, currency
    ("30%", "삼십 퍼센트"),
    ("3.5%p", "삼 점 오 퍼센트포인트"),
    ("39,900원", "삼만 구천구백 원"),
    ("$5", "오 달러"),
    ("₩1,000", "천 원"),
    ("€10", "십 유로"),
    ("¥100", "백 엔"),
    ("5달러", "오 달러"),
    # units
    ("5km", "오 킬로미터"),
    ("3kg", "삼 킬로그램"),
    ("180cm", "백팔십 센티미터"),
    ("5mm", "오 밀리미터"),
    ("500ml", "오백 밀리리터"),
    ("2L", "이 리터"),
    ("10mg", "십 밀리그램"),
    ("36.5℃", "섭씨 삼십육 점 오 도"),
    ("-3°C", "영하 삼 도"),
    ("10㎡", "십 제곱미터"),
    ("84m²", "팔십사 제곱미터"),
    ("100km/h", "시속 백 킬로미터"),
    ("시속 80km/h로", "시속 팔십 킬로미터로"),
    ("16GB", "십육 기가바이트"),
    # ranges
    ("3~4명", "서너 명"),
    ("2~3개", "두세 개"),
    ("5~10명", "다섯 명에서 열 명"),
    ("9~18시", "아홉 시에서 열여덟 시"),
    ("10~20%", "십에서 이십 퍼센트"),
    ("서울~부산", "서울에서 부산"),
    # arithmetic, ratios, fractions, codes
    ("1+2=3", "일 더하기 이는 삼"),
    ("10 - 4 = 6", "십 빼기 사는 육"),
    ("3:2", "삼 대 이"),
    ("2대 1로 이겼다", "이 대 일로 이겼다"),
    ("1대1 문의", "일 대 일 문의"),
    ("1/2", "이 분의 일"),
    ("3·1절", "삼일절"),
    ("123-4", "백이십삼 다시 사"),
    ("3.14.1", "삼 점 십사 점 일"),
    # English words, acronyms, mixed codes
    ("KSS", "케이에스에스"),
    ("GPU", "지피유"),
    ("AI가", "에이아이가"),
    ("computer", "컴퓨터"),
    ("hello world", "헬로 월드"),
    ("MP3", "엠피쓰리"),
    ("4K", "포케이"),
    ("3D 프린터", "쓰리디 프린터"),
    ("A4 용지", "에이포 용지"),
    ("iPhone 15", "아이폰 십오"),
    ("1st", "퍼스트"),
    ("C++", "씨 플러스 플러스"),
    ("Mr. Kim", "미스터 킴"),
    ("No.1", "넘버원"),
    ("한국 vs 일본", "한국 대 일본"),
    ("kss@sori.kr", "케이에스에스 골뱅이 에스오알아이 닷 케이알"),
    ("www.sori.kr", "더블유더블유더블유 닷 에스오알아이 닷 케이알"),
    # full-width, compatibility characters, punctuation
    ("３시", "세 시"),
    ("①번", "일 번"),
    ("제Ⅱ장", "제이 장"),
    ("정말?!", "정말?"),
    ("음...", "음…"),
    ("\u201c안녕\u201d이라고", "안녕이라고"),
    ("한·미 정상회담", "한 미 정상회담"),
    # mixed sentences
    ("지금은 오후 3시 15분입니다.", "지금은 오후 세 시 십오 분입니다."),
    ("KSS 데이터는 12,853개 문장이다.", "케이에스에스 데이터는 만 이천팔백오십삼 개 문장이다."),
    (
        "오늘 서울은 최고 25℃, 강수확률 30%입니다.",
        "오늘 서울은 최고 섭씨 이십오 도, 강수확률 삼십 퍼센트입니다.",
    ),
    (
        "6월 10일 14:30에 3번 출구에서 2명을 만나요.",
        "유월 십 일 열네 시 삼십 분에 삼 번 출구에서 두 명을 만나요.",
    ),
    ("GPU 2대로 10시간 학습했다.", "지피유 두 대로 열 시간 학습했다."),
]


@pytest.mark.parametrize(("text", "reading"), GOLDEN, ids=[text for text, _ in GOLDEN])
def test_golden_readout(text: str, reading: str) -> None:
    normalized, dropped = normalize_text(text)
    assert normalized == reading
    assert dropped == ()


def test_golden_table_is_large_enough() -> None:
    assert len(GOLDEN) >= 60


@pytest.mark.parametrize(
    ("text", "reading", "dropped"),
    [
        ("안녕😀하세요", "안녕 하세요", ("😀",)),
        ("漢字 공부", "공부", ("漢", "字")),
        ("#해시태그", "해시태그", ("#",)),
        ("こんにちは 세상", "세상", tuple("こんにちは")),
        ("좋아요 👍👍", "좋아요", ("👍",)),
    ],
)
def test_unspeakable_characters_are_dropped_and_reported(
    text: str, reading: str, dropped: tuple[str, ...]
) -> None:
    assert normalize_text(text) == (reading, dropped)


def test_no_digit_or_latin_letter_survives() -> None:
    text = "v2.0 RC1, 3D 4K 5G 1,2,3 ~ 10:30 1/2 2024-2025 A-1 x86 0x1F"
    normalized, dropped = normalize_text(text)
    assert not any(char.isdigit() or (char.isascii() and char.isalpha()) for char in normalized)
    assert dropped == ()


def test_normalize_is_idempotent_and_canonical() -> None:
    text = "\uff21\uff22  \u201c따옴표\u201d \u2014 3\u20134\u200b\u3000끝"
    once = normalize(text)
    assert once == 'AB "따옴표" — 3-4 끝'
    assert normalize(once) == once


def test_conjoining_jamo_compose_to_syllables() -> None:
    assert normalize_text("\u1112\u1161\u11ab\u1100\u1173\u11af") == ("한글", ())
