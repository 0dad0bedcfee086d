"""SoriCalculate: the four operations on exact fractions, answered in Korean.

"3 더하기 4는 7이에요.", "10 나누기 4는 2.5예요.", "10 나누기 3은 약 3.33이에요.",
"5 빼기 8은 마이너스 3이에요." Division by zero and unreadable numbers get a polite answer.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from assistant.numbers import format_number, parse_number, round_decimal
from assistant.particles import with_particle
from assistant.skills.context import SkillContext, Slots

EXACT_DECIMALS = 4
"""Results with at most this many decimals are said exactly."""
ROUNDED_DECIMALS = 2
"""Other results are rounded to this many decimals and prefixed with 약 (about)."""
MAX_MAGNITUDE = 10**15
"""Results beyond ±this are not read out (the reading would be meaningless in speech)."""

OPERATIONS: dict[str, tuple[str, Callable[[Fraction, Fraction], Fraction]]] = {
    "add": ("더하기", lambda left, right: left + right),
    "subtract": ("빼기", lambda left, right: left - right),
    "multiply": ("곱하기", lambda left, right: left * right),
    "divide": ("나누기", lambda left, right: left / right),
}


def spoken_number(value: Fraction) -> str:
    """A number for the reply: digits, "마이너스" for negatives, "약" when rounded."""
    _, exact = round_decimal(value, EXACT_DECIMALS)
    places = EXACT_DECIMALS if exact else ROUNDED_DECIMALS
    text = format_number(abs(value), max_decimals=places)
    if value < 0 and text != "0":
        text = f"마이너스 {text}"
    return text if exact else f"약 {text}"


def calculate(slots: Slots, context: SkillContext) -> str:
    """Apply `operator` (add, subtract, multiply, divide) to the `left` and `right` slots."""
    operator = OPERATIONS.get(str(slots.get("operator")))
    left = parse_number(str(slots.get("left", "")))
    right = parse_number(str(slots.get("right", "")))
    if operator is None or left is None or right is None:
        return "계산할 숫자를 잘 알아듣지 못했어요. 예를 들어 3 더하기 4라고 말해 주세요."
    word, apply = operator
    if word == "나누기" and right == 0:
        return "0으로는 나눌 수 없어요. 다른 숫자로 나눠 볼까요?"
    result = apply(left, right)
    if abs(result) > MAX_MAGNITUDE:
        return "결과가 너무 큰 숫자라서 읽어 드리기 어려워요."
    expression = f"{spoken_number(left)} {word} {with_particle(spoken_number(right), '은/는')}"
    return f"{expression} {with_particle(spoken_number(result), '이에요/예요')}."
