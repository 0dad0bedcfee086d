"""Result tables: printed as text, written as Markdown into bench/RESULTS.md (atomically)."""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass
class Table:
    """One benchmark's results: a title, column names, rows of cells, and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        """Append a row; numbers are formatted by the caller."""
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        """The table as GitHub Markdown, notes as a list below it."""
        lines = [f"### {self.title}", ""]
        if self.rows:
            lines.append("| " + " | ".join(self.columns) + " |")
            lines.append("|" + "|".join("---" for _ in self.columns) + "|")
            lines.extend("| " + " | ".join(row) + " |" for row in self.rows)
            lines.append("")
        lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines).rstrip() + "\n"

    def text(self) -> str:
        """The table aligned for a terminal."""
        widths = [max(len(c), *(len(row[i]) for row in self.rows)) if self.rows else len(c)
                  for i, c in enumerate(self.columns)]
        lines = [self.title, "=" * len(self.title)]
        if self.rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True)))
            lines.extend("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                         for row in self.rows)
        lines.extend(f"  * {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


def add_note_argument(parser: argparse.ArgumentParser) -> None:
    """`--note TEXT`: what else the machine was doing, written to the results file by `machine_summary`."""
    parser.add_argument("--note", default=None, help="what else the machine was doing, for the results file")


def machine_summary(note: str | None = None) -> dict[str, str]:
    """What the numbers were measured on: CPU model and count, torch version, GPU if any, and the
    `note` (what else ran) when given."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, nproc {os.cpu_count()}",
        "load average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": gpu,
        **({"note": note} if note else {}),
    }


def write_results(
    path: Path, command: str, machine: dict[str, str], tables: list[Table],
    heading: str = "# Sori benchmark results",
) -> None:
    """Write a results file atomically (temp file in the same folder, then os.replace); `command`
    is Markdown."""
    header = [heading, "",
              f"Command: {command}", ""]
    header.extend(f"- {key}: {value}" for key, value in machine.items())
    body = "\n".join(header) + "\n\n" + "\n".join(table.markdown() for table in tables)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(body)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
