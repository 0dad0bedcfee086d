"""Measuring a voice: attention health, and agreement with a teacher rendering (`sori eval`)."""

from tts.evaluation.report import EvaluationError, EvaluationReport, SentenceScore, evaluate_voice

__all__ = ["EvaluationError", "EvaluationReport", "SentenceScore", "evaluate_voice"]
