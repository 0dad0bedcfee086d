"""Dependency audit for `make lint`: pip-audit over the installed environment, offline-tolerant.

pip-audit exits 0 even when it audited nothing (every package "could not be audited" because
PyPI's JSON API is unreachable), so its exit status alone would pass an audit that never ran.
This script reads its JSON report and decides:

- known vulnerabilities in any package: list them, exit 1;
- too few packages audited by every service tried (offline, blocked, timed out): say
  "dependency audit could not run: ... (offline?)" and each service's reason, exit 0;
- otherwise: say how many packages were audited, exit 0.

Services are tried in order (PyPI, then OSV) until one audits enough of the environment.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

SERVICES = ("pypi", "osv")
EDITABLE_REASON = "distribution marked as editable"


@dataclass(frozen=True)
class Vulnerability:
    """One known vulnerability of one installed package."""

    package: str
    version: str
    id: str
    fix_versions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: package, version, advisory and the versions that fix it."""
        fixed = ", ".join(self.fix_versions) or "no fixed version yet"
        also = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package} {self.version}: {self.id}{also}; fixed in {fixed}"


@dataclass(frozen=True)
class ServiceReport:
    """What one pip-audit run against one vulnerability service found.

    `error` is set when pip-audit produced no report at all (it could not reach the service,
    timed out, or is not installed)."""

    service: str
    audited: tuple[str, ...] = ()
    """Packages the service answered for (with or without vulnerabilities)."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(package, reason) for packages that could not be audited; editable ones are left out."""
    vulnerabilities: tuple[Vulnerability, ...] = ()
    error: str | None = None

    def coverage(self) -> float:
        """Share of the auditable packages the service answered for (0 when there were none)."""
        total = len(self.audited) + len(self.skipped)
        return len(self.audited) / total if total else 0.0

    def why_incomplete(self) -> str:
        """Why this report does not count as an audit (for the "could not run" message)."""
        if self.error is not None:
            return self.error
        if not self.skipped:
            return "no packages were audited"
        reason = self.skipped[0][1]
        return f"{len(self.skipped)} of {len(self.skipped) + len(self.audited)} packages not audited, e.g. {reason!r}"


@dataclass(frozen=True)
class Verdict:
    """The audit's outcome: the exit status and the lines to print."""

    exit_status: int
    lines: list[str] = field(default_factory=list)


def plural(count: int, singular: str, several: str | None = None) -> str:
    """ "1 package", "3 packages"."""
    return f"{count} {singular if count == 1 else several or singular + 's'}"


def last_line(text: str, limit: int = 300) -> str:
    """The last non-empty line of text, shortened: the message of a Python traceback."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[-1] if lines else "no output"
    return line if len(line) <= limit else line[:limit] + "…"


def parse_report(service: str, returncode: int, stdout: str, stderr: str) -> ServiceReport:
    """A ServiceReport from pip-audit's `--format json` output and exit status.

    With vulnerabilities pip-audit exits 1 but still writes the report; with no report on stdout
    the run failed and the last line of stderr says why.
    """
    try:
        report = json.loads(stdout)
        dependencies = report["dependencies"]
    except (json.JSONDecodeError, KeyError, TypeError):
        reason = last_line(stderr) if stderr.strip() else f"pip-audit exited {returncode} without a report"
        return ServiceReport(service, error=reason)
    audited, skipped, vulnerabilities = [], [], []
    for dependency in dependencies:
        name = str(dependency.get("name", "?"))
        if "skip_reason" in dependency:
            reason = str(dependency["skip_reason"])
            if reason != EDITABLE_REASON:  # the project itself, never on an index
                skipped.append((name, reason))
            continue
        version = str(dependency.get("version", "?"))
        audited.append(name)
        vulnerabilities += [
            Vulnerability(
                name, version, str(vuln.get("id", "?")),
                tuple(str(v) for v in vuln.get("fix_versions", [])),
                tuple(str(a) for a in vuln.get("aliases", [])),
            )
            for vuln in dependency.get("vulns", [])
        ]
    return ServiceReport(service, tuple(audited), tuple(skipped), tuple(vulnerabilities))


def decide(reports: Sequence[ServiceReport], min_coverage: float = 0.5) -> Verdict:
    """Vulnerabilities from any service fail; else the first report covering enough packages
    passes; else the audit could not run, which is reported but does not fail."""
    found = {v.describe(): v for report in reports for v in report.vulnerabilities}
    if found:
        lines = [f"dependency audit: {plural(len(found), 'known vulnerability', 'known vulnerabilities')}"]
        lines += [f"  {line}" for line in sorted(found)]
        return Verdict(1, lines)
    for report in reports:
        if report.error is None and report.audited and report.coverage() >= min_coverage:
            lines = [
                f"dependency audit ({report.service}): {plural(len(report.audited), 'package')} audited, "
                "no known vulnerabilities"
            ]
            if report.skipped:
                names = ", ".join(name for name, _ in report.skipped)
                lines.append(f"  not audited ({len(report.skipped)}): {names}")
            return Verdict(0, lines)
    lines = ["dependency audit could not run: no service audited the installed packages (offline?)"]
    lines += [f"  {report.service}: {report.why_incomplete()}" for report in reports]
    return Verdict(0, lines)


def run_pip_audit(service: str, *, timeout_s: float, osv_url: str | None = None,
                  cache_dir: str | None = None) -> ServiceReport:
    """Audit this interpreter's environment (editable installs skipped) against one service."""
    command = [
        sys.executable, "-m", "pip_audit", "--local", "--skip-editable", "--format", "json",
        "--progress-spinner", "off", "--vulnerability-service", service,
        "--timeout", str(max(1, int(timeout_s / 10))),
    ]
    if osv_url is not None:
        command += ["--osv-url", osv_url]
    if cache_dir is not None:
        command += ["--cache-dir", cache_dir]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return ServiceReport(service, error=f"pip-audit timed out after {timeout_s:g} s")
    if "No module named pip_audit" in done.stderr:
        return ServiceReport(service, error="pip-audit is not installed (pip install -e '.[dev]')")
    return parse_report(service, done.returncode, done.stdout, done.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the audit, print the verdict, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--service", action="append", choices=SERVICES,
                        help="vulnerability service, in the order tried (default: pypi, then osv)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per service (default 120)")
    parser.add_argument("--min-coverage", type=float, default=0.5,
                        help="share of packages a service must audit for the audit to count (default 0.5)")
    parser.add_argument("--osv-url", help="OSV query endpoint instead of https://api.osv.dev/v1/query "
                        "(pip-audit 2.10 or later)")
    parser.add_argument("--cache-dir", help="pip-audit's HTTP cache directory")
    args = parser.parse_args(argv)
    reports = []
    for service in args.service or SERVICES:
        report = run_pip_audit(service, timeout_s=args.timeout, osv_url=args.osv_url, cache_dir=args.cache_dir)
        reports.append(report)
        if report.vulnerabilities or (report.error is None and report.coverage() >= args.min_coverage):
            break
    verdict = decide(reports, args.min_coverage)
    print("\n".join(verdict.lines))
    return verdict.exit_status


if __name__ == "__main__":
    sys.exit(main())
