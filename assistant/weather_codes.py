"""WMO weather interpretation codes (WW), as Open-Meteo documents them, in Korean words.

Open-Meteo reports the sky as one code of WMO code table 4677, restricted to the 28 codes its
documentation lists (https://open-meteo.com/en/docs, "WMO Weather interpretation codes"). Each
is said here as a noun phrase that takes 이에요/예요 ("맑음이에요", "약한 비예요").
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

WMO_SKY: Mapping[int, str] = MappingProxyType({
    0: "맑음",  # clear sky
    1: "대체로 맑음",  # mainly clear
    2: "구름 많음",  # partly cloudy
    3: "흐림",  # overcast
    45: "안개",  # fog
    48: "서리 안개",  # depositing rime fog
    51: "약한 이슬비",  # drizzle: light
    53: "이슬비",  # drizzle: moderate
    55: "강한 이슬비",  # drizzle: dense
    56: "약한 어는 이슬비",  # freezing drizzle: light
    57: "강한 어는 이슬비",  # freezing drizzle: dense
    61: "약한 비",  # rain: slight
    63: "비",  # rain: moderate
    65: "강한 비",  # rain: heavy
    66: "약한 어는 비",  # freezing rain: light
    67: "강한 어는 비",  # freezing rain: heavy
    71: "약한 눈",  # snow fall: slight
    73: "눈",  # snow fall: moderate
    75: "강한 눈",  # snow fall: heavy
    77: "싸락눈",  # snow grains
    80: "약한 소나기",  # rain showers: slight
    81: "소나기",  # rain showers: moderate
    82: "강한 소나기",  # rain showers: violent
    85: "약한 소낙눈",  # snow showers: slight
    86: "강한 소낙눈",  # snow showers: heavy
    95: "뇌우",  # thunderstorm: slight or moderate
    96: "약한 우박을 동반한 뇌우",  # thunderstorm with slight hail
    99: "강한 우박을 동반한 뇌우",  # thunderstorm with heavy hail
})
"""WMO code → the Korean words for that sky; every code Open-Meteo documents, nothing else."""


def sky_for_code(code: int) -> str:
    """The Korean words for WMO weather code `code`; ValueError for a code Open-Meteo does not use."""
    try:
        return WMO_SKY[code]
    except KeyError:
        raise ValueError(f"unknown WMO weather code {code}") from None
