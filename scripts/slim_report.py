"""Measure the slim install and write bench/SLIM_RESULTS.md.

    python scripts/slim_report.py [--full-venv .venv] [--results bench/SLIM_RESULTS.md]

Builds a fresh virtual environment with `pip install <a copy of the checkout>` (no extra, from the
package registry), checks that torch is absent, measures it against the full environment, lists
its largest packages, and asks the registry, for each dependency in pyproject.toml, whether it has
a wheel for 64-bit ARM Linux (Raspberry Pi OS 64-bit, glibc 2.36) under the manylinux2014 tag and
under manylinux_2_28 (`pip download --only-binary=:all: --no-deps`). Nothing here is run on ARM.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "SLIM_RESULTS.md"
PLATFORMS = {"manylinux2014": ["manylinux2014_aarch64"],
             "manylinux_2_28": ["manylinux_2_28_aarch64", "manylinux2014_aarch64"]}


def size_bytes(root: Path) -> int:
    """Bytes of every file under root (symlinks counted as links)."""
    return sum(path.lstat().st_size for path in root.rglob("*") if path.is_file() or path.is_symlink())


def build_slim(workdir: Path) -> Path:
    """A venv with the checkout installed without extras; its root."""
    source = workdir / "checkout"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", ".venv*", "data", "runs", "__pycache__", ".*_cache"))
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(source)], check=True)
    return venv


def largest(venv: Path, count: int = 12) -> list[tuple[str, int]]:
    """The biggest top-level entries of site-packages."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    entries = [(path.name, size_bytes(path) if path.is_dir() else path.stat().st_size) for path in site.iterdir()]
    return sorted(entries, key=lambda item: -item[1])[:count]


def arm_wheel(requirement: str, platforms: list[str], workdir: Path) -> str:
    """The wheel pip picks for 64-bit ARM Linux and CPython 3.11, or why there is none."""
    target = workdir / re.sub(r"\W", "_", requirement + "".join(platforms))
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--python-version", "3.11",
               "--no-deps", "--quiet", "-d", str(target), requirement]
    for platform in platforms:
        command[4:4] = ["--platform", platform]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    wheels = sorted(path.name for path in target.glob("*.whl")) if target.exists() else []
    if run.returncode != 0 or not wheels:
        return "none (" + (run.stderr.strip().splitlines() or ["no wheel"])[-1][:90] + ")"
    return wheels[0]


def main(argv: list[str] | None = None) -> int:
    """Build, measure, ask, write."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-venv", type=Path, default=ROOT / ".venv", help="the full environment to compare")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    with tempfile.TemporaryDirectory(prefix="sori-slim-") as temporary:
        workdir = Path(temporary)
        venv = build_slim(workdir)
        python = str(venv / "bin" / "python")
        torch_absent = subprocess.run([python, "-c", "import torch"], capture_output=True,
                                      cwd=workdir).returncode != 0
        versions = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], capture_output=True,
                                  text=True, check=True).stdout.split()
        slim_size = size_bytes(venv)
        top = largest(venv)
        wheels = {dependency: {name: arm_wheel(dependency, platforms, workdir) for name, platforms in PLATFORMS.items()}
                  for dependency in dependencies}
    full_size = size_bytes(args.full_venv) if args.full_venv.is_dir() else None
    lines = [
        "# The slim install: size and 64-bit ARM wheels", "",
        f"Command: `{shlex.join(['python', 'scripts/slim_report.py', *(argv or sys.argv[1:])])}`  ",
        f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}  ",
        f"Machine: {sys.platform}, Python {sys.version.split()[0]} (x86-64; nothing here ran on ARM)", "",
        "## Size", "",
        "| environment | MiB | MB (10^6 bytes) |", "|---|---|---|",
        f"| slim: `pip install .` (no extra), fresh venv incl. pip | {slim_size / 2**20:.1f} | {slim_size / 1e6:.1f} |",
    ]
    if full_size is not None:
        lines.append(f"| full: `{args.full_venv.name}` (`make install`: torch, CUDA libraries, dev tools) | "
                     f"{full_size / 2**20:.1f} | {full_size / 1e6:.1f} |")
    lines += ["", f"torch importable in the slim environment: {'no' if torch_absent else 'YES'}", "",
              "Largest entries of the slim site-packages:", "", "| entry | MiB |", "|---|---|"]
    lines += [f"| {name} | {size / 2**20:.1f} |" for name, size in top]
    lines += ["", "## Wheels for 64-bit ARM Linux (CPython 3.11), per dependency in pyproject.toml", "",
              "| dependency | manylinux2014_aarch64 only | manylinux_2_28_aarch64 (glibc 2.28+, e.g. Raspberry Pi OS bookworm) |",
              "|---|---|---|"]
    lines += [f"| `{dependency}` | {found['manylinux2014']} | {found['manylinux_2_28']} |"
              for dependency, found in wheels.items()]
    lines += ["", "Installed in the slim environment: " + ", ".join(f"`{item}`" for item in versions), ""]
    staged = args.results.with_name(f".{args.results.name}.tmp")
    staged.write_text("\n".join(lines), encoding="utf-8")
    os.replace(staged, args.results)  # atomic: a reader sees the old file or the new one
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
