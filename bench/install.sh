#!/usr/bin/env bash
# Builds the self-contained benchmark environment (.venv-bench): Sori plus the peers it is timed
# against (Coqui TTS, librosa). Kept apart from .venv so the peers never change Sori's dependencies.
# A failed Coqui install is recorded, not fatal: the benchmark then marks its rows as not measured.
set -uo pipefail

venv="${1:-.venv-bench}"
python="${PYTHON:-python3}"
py="$venv/bin/python"

test -x "$py" || "$python" -m venv "$venv" || exit 1
"$py" -m pip install --quiet --upgrade pip setuptools wheel || exit 1
"$py" -m pip install --quiet "torch==2.11.0" "torchaudio==2.11.0" librosa six httpx -e '.[torch,plot,postgres,ray]' || exit 1

rm -f "$venv/coqui-unavailable.txt"
if ! "$py" -m pip install --quiet "coqui-tts[codec]==0.28.*" six >"$venv/coqui-install.log" 2>&1; then
    reason="$(grep -m1 -E 'ERROR' "$venv/coqui-install.log" || tail -1 "$venv/coqui-install.log")"
    echo "pip install coqui-tts failed: ${reason}" >"$venv/coqui-unavailable.txt"
    echo "coqui-tts could not be installed; its benchmark rows will say why" >&2
fi
exit 0
