#!/usr/bin/env bash
# One lease of the GPU machine (see /work/.library/device): install the carried wheels, run the
# CUDA tests, every GPU benchmark and `sori eval` with and without CUDA graphs; results in $OUT.
# Carried: .whl (cp312 wheels of what the machine lacks), .gpu (espeak-ng .debs, eval sentences).
# `sori serve` imports neither wyoming nor openai, so the serving benchmarks need no more wheels.
# The served section's Ray Serve row needs Ray in .whl too, else it says "not measured": Ray 2.60's
# cp312 wheel is 79 MB, over the 64 MiB carry; without ray/jars (Java workers only) and the
# dashboard's web build it is 42 MiB (measured 2026-12-07), before Ray Serve's own dependencies.
set -uo pipefail
OUT=${OUT:-/tmp/sori-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
for deb in .gpu/debs/*.deb; do dpkg -x "$deb" /tmp/espeak; done
export PATH=/tmp/espeak/usr/bin:$PATH LD_LIBRARY_PATH=/tmp/espeak/usr/lib/x86_64-linux-gnu \
    ESPEAK_DATA_PATH=/tmp/espeak/usr/lib/x86_64-linux-gnu/espeak-ng-data
{ nvidia-smi -L; python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"; date -u; } \
    > "$OUT/env.txt" 2>&1

timeout 180 python3 -m pytest -q -p no:cacheprovider tests/test_graph_decode.py tests/test_training_graphs.py \
    tests/test_fast_decode.py 2>&1 | tail -25 > "$OUT/tests.txt"
cat "$OUT/tests.txt"

section() {  # section NAME SECONDS PYTHON-EXPR-RETURNING-TABLES
    timeout "$2" python3 - "$1" "$3" <<'PY' 2>&1 | tee -a "$OUT/bench.log"
import logging, os, sys, tempfile, torch
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
logging.getLogger("tts.synthesizer").setLevel(logging.ERROR)
from bench import gpu, training, vocoder_speed
from bench.report import Table
name, expression = sys.argv[1], sys.argv[2]
cuda = torch.device("cuda")
with tempfile.TemporaryDirectory() as workdir:
    tables = eval(expression, {"gpu": gpu, "training": training, "vocoder_speed": vocoder_speed,
                               "cuda": cuda, "Path": Path,
                               "workdir": Path(workdir), "Table": Table})
with open(f"{os.environ['OUT']}/bench.md", "a") as out:
    for table in tables:
        print(table.text())
        out.write(table.markdown() + "\n")
PY
}
export OUT
section steps 120 "[gpu.decoder_steps(cuda, 5, gpu.BATCHES)]"
section training 150 "[(lambda t: (training.gpu_rows(t, 3), t)[1])(Table('GPU training', ['device', 'threads', 'model', 'precision', 'batch x frames', 'steps/s', 'frames/s']))]"
section latency 60 "[gpu.latency(cuda, workdir, 5)]"
section throughput 90 "[gpu.throughput(cuda, workdir, gpu.CONCURRENCY)]"
section served 300 "gpu.served_tables(cuda, workdir, gpu.CLIENTS)"
section streaming 90 "gpu.streaming.run(5, device='cuda')"
section vocoder 60 "vocoder_speed.run(5, device='cuda')"

for mode in graphs eager; do
    flag=$([ "$mode" = eager ] && echo --no-cuda-graphs)
    timeout 90 python3 -m sori eval --voice voices/ko-espeak-demo --sentences .gpu/sentences_ko.txt \
        --out "/tmp/eval-$mode" --device cuda --no-vocoder-comparison $flag > "$OUT/eval-$mode.txt" 2>&1
    cp "/tmp/eval-$mode/report.json" "$OUT/eval-$mode.json" 2>/dev/null
done
python3 - <<'PY' 2>&1 | tee "$OUT/eval-compare.txt"
import json, os
out = os.environ["OUT"]
try:
    a, b = (json.load(open(f"{out}/eval-{m}.json")) for m in ("graphs", "eager"))
except OSError as error:
    raise SystemExit(f"eval missing: {error}")
print("summaries identical:", a["summary"] == b["summary"])
for key in a["summary"]:
    if a["summary"][key] != b["summary"][key]:
        print(key, a["summary"][key], b["summary"][key])
PY
