"""Korean utterances → intent and slots, through normalisation and hassil (no skills, no store)."""

from __future__ import annotations

import pytest

from assistant import SERVED_INTENTS, AssistantError, IntentCatalog, load_intents, recognize
from assistant.recognizer import load_template_dict
from assistant.skills import SKILLS


@pytest.fixture(scope="module")
def catalog() -> IntentCatalog:
    return load_intents()


# (utterance, intent or None, slots)
CASES: list[tuple[str, str | None, dict[str, str | int]]] = [
    # HassGetCurrentTime
    ("지금 몇 시야?", "HassGetCurrentTime", {}),
    ("몇시야", "HassGetCurrentTime", {}),
    ("지금 몇 시예요?", "HassGetCurrentTime", {}),
    ("현재 시각 알려 줘", "HassGetCurrentTime", {}),
    ("시간 알려주세요", "HassGetCurrentTime", {}),
    ("지금 몇 시인지 알려줄래요?", "HassGetCurrentTime", {}),
    ("소리야, 지금 몇 시야", "HassGetCurrentTime", {}),
    # HassGetCurrentDate
    ("오늘 며칠이야?", "HassGetCurrentDate", {}),
    ("오늘 날짜 알려줘", "HassGetCurrentDate", {}),
    ("오늘 무슨 요일이야", "HassGetCurrentDate", {}),
    ("오늘이 몇 월 며칠이에요?", "HassGetCurrentDate", {}),
    ("날짜 알려 주세요", "HassGetCurrentDate", {}),
    ("오늘 요일 말해줘", "HassGetCurrentDate", {}),
    ("오늘 몇일이야", "HassGetCurrentDate", {}),
    # HassStartTimer: digits, spacing, verb endings, number words, combinations
    ("5분 타이머 맞춰줘", "HassStartTimer", {"minutes": 5}),
    ("5 분 타이머 맞춰 줘", "HassStartTimer", {"minutes": 5}),
    ("5분 타이머 맞춰주세요", "HassStartTimer", {"minutes": 5}),
    ("5분 타이머 맞춰 주세요.", "HassStartTimer", {"minutes": 5}),
    ("오 분 타이머 맞춰 주세요", "HassStartTimer", {"minutes": 5}),
    ("십 분 타이머", "HassStartTimer", {"minutes": 10}),
    ("이십 초 타이머", "HassStartTimer", {"seconds": 20}),
    ("1시간 30분 타이머", "HassStartTimer", {"hours": 1, "minutes": 30}),
    ("1시간30분 타이머 시작해줘", "HassStartTimer", {"hours": 1, "minutes": 30}),
    ("한 시간 반 타이머 맞춰줘", "HassStartTimer", {"hours": 1, "minutes": 30}),
    ("1분 30초 타이머", "HassStartTimer", {"minutes": 1, "seconds": 30}),
    ("1시간 5초짜리 타이머", "HassStartTimer", {"hours": 1, "seconds": 5}),
    ("타이머 30초", "HassStartTimer", {"seconds": 30}),
    ("타이머 10분으로 맞춰줘", "HassStartTimer", {"minutes": 10}),
    ("２시간 타이머 설정해 줘", "HassStartTimer", {"hours": 2}),
    ("3분 뒤에 알려줘", "HassStartTimer", {"minutes": 3}),
    ("타이머 맞춰줘", "HassStartTimer", {}),
    # HassCancelTimer
    ("타이머 취소해줘", "HassCancelTimer", {}),
    ("타이머 꺼 줘", "HassCancelTimer", {}),
    ("5분 타이머 취소", "HassCancelTimer", {"start_minutes": 5}),
    ("모든 타이머 취소해 주세요", "HassCancelTimer", {"scope": "all"}),
    ("타이머 전부 취소", "HassCancelTimer", {"scope": "all"}),
    # HassTimerStatus
    ("타이머 얼마나 남았어?", "HassTimerStatus", {}),
    ("얼마나 남았어요", "HassTimerStatus", {}),
    ("남은 시간 알려줘", "HassTimerStatus", {}),
    ("타이머 상태", "HassTimerStatus", {}),
    ("타이머 몇 분 남았어", "HassTimerStatus", {}),
    # HassGetWeather
    ("오늘 날씨 어때?", "HassGetWeather", {}),
    ("날씨 알려 줘", "HassGetWeather", {}),
    ("서울 날씨 어때", "HassGetWeather", {"location": "서울"}),
    ("부산은 날씨 어때요?", "HassGetWeather", {"location": "부산"}),
    ("오늘 비 와?", "HassGetWeather", {}),
    ("밖에 추워?", "HassGetWeather", {}),
    # HassGetWeather for another time than now: the skill says it knows only the weather now
    ("내일 날씨 어때?", "HassGetWeather", {"day": "내일"}),
    ("모레 부산 날씨는?", "HassGetWeather", {"day": "모레", "location": "부산"}),
    ("이번주말 날씨 어때?", "HassGetWeather", {"day": "이번 주말"}),
    ("주말에 우산 필요해?", "HassGetWeather", {"day": "주말"}),
    ("다음주 월요일 서울 날씨 알려줘", "HassGetWeather", {"week": "다음 주", "day": "월요일", "location": "서울"}),
    ("오늘 밤 날씨 어때", "HassGetWeather", {"day": "오늘 밤"}),
    # HassNevermind
    ("아니야", "HassNevermind", {}),
    ("됐어", "HassNevermind", {}),
    ("신경 쓰지 마", "HassNevermind", {}),
    ("취소", "HassNevermind", {}),
    # HassShoppingListAddItem: particles stripped by the final-consonant rule
    ("우유를 장보기 목록에 추가해줘", "HassShoppingListAddItem", {"item": "우유"}),
    ("장보기 목록에 계란을 추가해 주세요", "HassShoppingListAddItem", {"item": "계란"}),
    ("사과랑 바나나를 쇼핑 리스트에 넣어줘", "HassShoppingListAddItem", {"item": "사과, 바나나"}),
    ("리스트에 빵을 추가해줘", "HassShoppingListAddItem", {"item": "빵"}),
    ("두부 사야 해", "HassShoppingListAddItem", {"item": "두부"}),
    ("라면을 장보기 목록에 추가 해 줘", "HassShoppingListAddItem", {"item": "라면"}),
    ("오이랑 수박이랑 감자를 장보기 목록에 추가", "HassShoppingListAddItem", {"item": "오이, 수박, 감자"}),
    # SoriShoppingListRead
    ("장보기 목록 읽어줘", "SoriShoppingListRead", {}),
    ("장보기 목록에 뭐 있어?", "SoriShoppingListRead", {}),
    ("쇼핑 리스트 보여 주세요", "SoriShoppingListRead", {}),
    ("뭐 사야 돼?", "SoriShoppingListRead", {}),
    # SoriGreeting, SoriThanks, SoriIdentity, SoriHelp
    ("안녕", "SoriGreeting", {}),
    ("안녕하세요!", "SoriGreeting", {}),
    ("좋은 아침", "SoriGreeting", {}),
    ("소리야", "SoriGreeting", {}),
    ("고마워", "SoriThanks", {}),
    ("감사합니다.", "SoriThanks", {}),
    ("고마워요", "SoriThanks", {}),
    ("너 누구야?", "SoriIdentity", {}),
    ("이름이 뭐야", "SoriIdentity", {}),
    ("넌 누구니", "SoriIdentity", {}),
    ("도움말", "SoriHelp", {}),
    ("뭐 할 수 있어?", "SoriHelp", {}),
    ("도와 주세요", "SoriHelp", {}),
    ("무슨 기능이 있어요?", "SoriHelp", {}),
    # SoriCalculate: digits, symbols, Korean number words, decimals, negatives
    ("3 더하기 4는?", "SoriCalculate", {"left": 3, "operator": "add", "right": 4}),
    ("3+4", "SoriCalculate", {"left": 3, "operator": "add", "right": 4}),
    ("십이 곱하기 삼", "SoriCalculate", {"left": 12, "operator": "multiply", "right": 3}),
    ("10 나누기 0", "SoriCalculate", {"left": 10, "operator": "divide", "right": 0}),
    ("5 빼기 8은 얼마야", "SoriCalculate", {"left": 5, "operator": "subtract", "right": 8}),
    ("2.5 곱하기 4", "SoriCalculate", {"left": "2.5", "operator": "multiply", "right": 4}),
    ("10을 4로 나누면 얼마야", "SoriCalculate", {"left": 10, "operator": "divide", "right": 4}),
    ("마이너스 3 더하기 5", "SoriCalculate", {"left": -3, "operator": "add", "right": 5}),
    ("백 빼기 일", "SoriCalculate", {"left": 100, "operator": "subtract", "right": 1}),
    ("이 점 오 더하기 삼", "SoriCalculate", {"left": "2.5", "operator": "add", "right": 3}),
    # Nothing served
    ("블라블라", None, {}),
    ("사랑해", None, {}),
    ("거실 불 켜줘", None, {}),
    ("음악 틀어줘", None, {}),
    ("사과 더하기 배", None, {}),
]


def test_table_is_large_and_covers_every_served_intent() -> None:
    assert len(CASES) >= 60
    assert {intent for _, intent, _ in CASES} == {*SERVED_INTENTS, None}


@pytest.mark.parametrize(("text", "intent", "slots"), CASES, ids=[case[0] for case in CASES])
def test_recognition(catalog: IntentCatalog, text: str, intent: str | None, slots: dict) -> None:
    recognition = recognize(text, catalog)
    if intent is None:
        assert recognition is None
        return
    assert recognition is not None
    assert recognition.intent == intent
    assert dict(recognition.slots) == slots


def test_only_served_intents_are_loaded() -> None:
    data = load_template_dict()
    assert set(data["intents"]) == set(SERVED_INTENTS) == set(SKILLS)  # each has exactly one skill
    # Home Assistant's own Korean templates are part of the merge, not replaced by ours.
    assert "{timer_minutes:minutes}분[짜리] 타이머 [<timer_set>]" in {
        sentence
        for block in data["intents"]["HassStartTimer"]["data"]
        for sentence in block["sentences"]
    }


@pytest.mark.parametrize("bad", ["", "   ", "?!", "가" * 501])
def test_bad_utterances_raise_assistant_error(catalog: IntentCatalog, bad: str) -> None:
    with pytest.raises(AssistantError):
        recognize(bad, catalog)


def test_non_text_raises_assistant_error(catalog: IntentCatalog) -> None:
    with pytest.raises(AssistantError, match="string"):
        recognize(42, catalog)  # type: ignore[arg-type]
