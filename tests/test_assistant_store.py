"""Timers and the shopping list persist in SQLite across restarts and under concurrent use."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from assistant import Assistant, AssistantError
from assistant.store import AssistantStore

START = datetime(2026, 11, 21, 15, 5, tzinfo=ZoneInfo("Asia/Seoul"))


def test_timers_and_shopping_list_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "assistant.sqlite3"
    first = Assistant(store_path=path, clock=lambda: START)
    assert first.ask("10분 타이머 맞춰줘").reply == "10분 타이머를 시작했어요."
    assert first.ask("우유를 장보기 목록에 추가해줘").reply == "우유를 장보기 목록에 추가했어요."
    del first

    later = START + timedelta(minutes=4)
    second = Assistant(store_path=path, clock=lambda: later)
    assert second.ask("타이머 얼마나 남았어").reply == "10분 타이머가 6분 남았어요."
    assert second.ask("장보기 목록 읽어줘").reply == "장보기 목록에 우유가 있어요."
    assert second.ask("타이머 취소").reply == "10분 타이머를 취소했어요."

    third = Assistant(store_path=path, clock=lambda: later)
    assert third.ask("타이머 얼마나 남았어").reply == "실행 중인 타이머가 없어요."
    assert third.store.shopping_items() == ["우유"]


def test_concurrent_requests_from_threads(tmp_path: Path) -> None:
    assistant = Assistant(store_path=tmp_path / "a.sqlite3", clock=lambda: START)
    items = ["우유", "사과", "배", "빵", "귤", "감자", "양파", "두부",
             "라면", "김치", "쌀", "버터", "치즈", "주스", "커피", "설탕"]
    errors: list[BaseException] = []

    def add(item: str) -> None:
        try:
            assistant.ask(f"{item} 사야 해")
            assistant.ask("1분 타이머 맞춰줘")
        except BaseException as error:  # surfaced in the main thread below
            errors.append(error)

    threads = [threading.Thread(target=add, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(assistant.store.shopping_items()) == sorted(items)
    assert len(assistant.store.timers()) == len(items)


def test_store_rejects_bad_values_and_paths(tmp_path: Path) -> None:
    store = AssistantStore(tmp_path / "s.sqlite3")
    with pytest.raises(AssistantError):
        store.add_timer(0, started_at=0.0)
    with pytest.raises(AssistantError):
        store.add_shopping_item("  ", added_at=0.0)
    assert store.add_shopping_item("우유", added_at=0.0)
    assert not store.add_shopping_item("우유", added_at=1.0)
    directory = tmp_path / "a_directory"
    directory.mkdir()
    with pytest.raises(AssistantError, match="cannot open"):
        AssistantStore(directory)


def test_default_store_lives_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORI_DATA_DIR", str(tmp_path / "data"))
    assistant = Assistant(clock=lambda: START)
    assert assistant.store.path == tmp_path / "data" / "assistant.sqlite3"
    assistant.ask("빵 사야 해")
    assert (tmp_path / "data" / "assistant.sqlite3").is_file()
