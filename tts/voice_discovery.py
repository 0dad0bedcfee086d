"""Finding voices: the bundled ones (installed with the package) and any directories a user names."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from tts.voice_config import CONFIG_FILE, VoiceError

DEFAULT_VOICE_NAME = "ko-espeak-demo"


def bundled_voices_dir() -> Path:
    """The directory of voices shipped with Sori (package `voices`)."""
    return Path(str(resources.files("voices")))


def find_voices(search_dirs: Iterable[Path] = ()) -> dict[str, Path]:
    """Voice name -> directory, for every subdirectory holding a config.json.

    Bundled voices come first; a user directory may add voices or shadow a bundled name.
    A search directory that is itself a voice counts under its own name.
    """
    found: dict[str, Path] = {}
    for root in (bundled_voices_dir(), *map(Path, search_dirs)):
        if (root / CONFIG_FILE).is_file():
            found[root.name] = root
            continue
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if (child / CONFIG_FILE).is_file():
                    found[child.name] = child
    return found


def default_voice_dir() -> Path:
    """The bundled demo voice; a clear VoiceError while none has been trained and shipped."""
    path = bundled_voices_dir() / DEFAULT_VOICE_NAME
    if not (path / CONFIG_FILE).is_file():
        raise VoiceError(
            f"the bundled voice '{DEFAULT_VOICE_NAME}' is not installed (expected at {path}); "
            "train one with the recipe in recipes/kss/README.md and pass --voice DIR"
        )
    return path
