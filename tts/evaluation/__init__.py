"""Measuring a voice: attention health, and agreement with a teacher rendering (`sori eval`)."""

from tts.evaluation.report import EvaluationReport, SentenceScore, evaluate_voice
from tts.evaluation.teacher import EvaluationError

__all__ = ["EvaluationError", "EvaluationReport", "SentenceScore", "evaluate_voice"]
