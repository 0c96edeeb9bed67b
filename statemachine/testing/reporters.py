"""Reports of a test run: pytest-like text, GitHub Actions annotations, JUnit XML, JSON.

The text report is what a person reads in a terminal or a CI log: one line per file
with a character per case (``.`` passed, ``F`` failed, ``E`` error, ``s`` skipped), the
details of every failure, and a summary line ``N passed, N failed in 0.05s``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO

from statemachine.testing.execute import CaseResult, Report

_MARK = {"passed": ".", "failed": "F", "error": "E", "skipped": "s"}
_WORD = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED"}


def summary(report: Report) -> str:
    """``3 passed, 1 failed, 1 skipped in 0.04s`` (pytest's order and wording)."""
    parts = []
    for outcome, word in (
        ("failed", "failed"),
        ("passed", "passed"),
        ("skipped", "skipped"),
        ("error", "error"),
    ):
        n = report.count(outcome)
        if n:
            parts.append(f"{n} {word}{'s' * (outcome == 'error' and n > 1)}")
    return f"{', '.join(parts) or 'no cases ran'} in {report.seconds:.2f}s"


def write_text(report: Report, out: TextIO, *, verbose: bool = False) -> None:
    for file, results in _by_file(report):
        if verbose:
            for r in results:
                extra = f" ({r.messages[0]})" if r.outcome == "skipped" and r.messages else ""
                out.write(f"{r.nodeid} {_WORD[r.outcome]}{extra}\n")
        else:
            out.write(f"{file} {''.join(_MARK[r.outcome] for r in results)}\n")
    bad = [r for r in report.results if not r.ok]
    if bad:
        out.write("\n" + _rule("FAILURES") + "\n")
        for r in bad:
            out.write(_rule(r.nodeid, "_") + "\n")
            where = f"{r.file}:{r.line}: " if r.line else ""
            out.write(f"{where}{_WORD[r.outcome].lower()}\n")
            for line in r.details().splitlines():
                out.write(f"  {line}\n")
        out.write(_rule("short test summary info") + "\n")
        for r in bad:
            first = r.messages[0].splitlines()[0] if r.messages else ""
            out.write(f"{_WORD[r.outcome]} {r.nodeid} - {first}\n")
    out.write(_rule(summary(report)) + "\n")


def write_github(report: Report, out: TextIO) -> None:
    """``::error file=F,line=L,title=T::message`` per failed case (GitHub Actions shows
    them on the pull request diff), then the summary line."""
    for r in report.results:
        if r.ok:
            continue
        props = [f"file={_prop(str(r.file))}"]
        if r.line:
            props.append(f"line={r.line}")
        props.append(f"title={_prop(f'statemachine test: {r.name}')}")
        out.write(f"::error {','.join(props)}::{_data(r.details())}\n")
    out.write(summary(report) + "\n")


def junit_xml(report: Report) -> bytes:
    """JUnit XML as CI systems read it: one testsuite per test file."""
    root = ET.Element(
        "testsuites",
        name="statemachine test",
        tests=str(len(report.results)),
        failures=str(report.count("failed")),
        errors=str(report.count("error")),
        skipped=str(report.count("skipped")),
        time=f"{report.seconds:.3f}",
    )
    for file, results in _by_file(report):
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(results)),
            failures=str(sum(r.outcome == "failed" for r in results)),
            errors=str(sum(r.outcome == "error" for r in results)),
            skipped=str(sum(r.outcome == "skipped" for r in results)),
            time=f"{sum(r.seconds for r in results):.3f}",
        )
        for r in results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_classname(r.file),
                name=r.name,
                file=str(r.file),
                time=f"{r.seconds:.3f}",
            )
            if r.line:
                case.set("line", str(r.line))
            first = r.messages[0].splitlines()[0] if r.messages else ""
            if r.outcome in ("failed", "error"):
                tag = "failure" if r.outcome == "failed" else "error"
                ET.SubElement(case, tag, message=first).text = r.details()
            elif r.outcome == "skipped":
                ET.SubElement(case, "skipped", message=first)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def to_json(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "passed": report.count("passed"),
        "failed": report.count("failed"),
        "errors": report.count("error"),
        "skipped": report.count("skipped"),
        "seconds": round(report.seconds, 4),
        "cases": [_case_json(r) for r in report.results],
    }


def _case_json(r: CaseResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file": str(r.file),
        "name": r.name,
        "outcome": r.outcome,
        "messages": r.messages,
        "line": r.line,
        "path": r.path,
        "calls": r.calls,
        "unmocked": r.unmocked,
    }
    if r.execution is not None:
        out["execution"] = {**r.execution.to_json(), "variables": r.execution.variables}
    return out


def _by_file(report: Report) -> Iterator[tuple[str, list[CaseResult]]]:
    for file, results in groupby(report.results, key=lambda r: str(r.file)):
        yield file, list(results)


def _classname(path: Path) -> str:
    """``definitions/expense-approval.test.yaml`` -> ``definitions.expense-approval``."""
    name = path.as_posix()
    for suffix in (".test.yaml", ".test.yml", ".test.json"):
        name = name.removesuffix(suffix)
    return name.replace("/", ".")


def _rule(title: str, char: str = "=", width: int = 80) -> str:
    fill = max(width - len(title) - 2, 6)
    left = fill // 2
    return f"{char * left} {title} {char * (fill - left)}"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
