"""``statemachine validate PATH...``: every problem of every definition, for CI."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from pathlib import Path

from statemachine.commands._output import add_query_argument, print_json
from statemachine.validation.problem import Problem

DEFINITION_SUFFIXES = (".asl.yaml", ".asl.yml", ".asl.json")
FILE_SUFFIXES = (".yaml", ".yml", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files, folders (searched recursively for *.asl.yaml/yml/json) or glob patterns",
    )
    parser.add_argument(
        "--format",
        choices=["text", "json", "github"],
        default="text",
        help="text (file:line:col), json, or github (GitHub Actions annotations)",
    )
    add_query_argument(parser)


def expand(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files to check, and the arguments that matched nothing."""
    files: list[Path] = []
    missing: list[str] = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(DEFINITION_SUFFIXES)
            )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif glob.has_magic(arg):
            matched = sorted(Path(p) for p in glob.glob(arg, recursive=True) if os.path.isfile(p))
            if not matched:
                missing.append(arg)
            files.extend(matched)
        else:
            missing.append(arg)
    unique: dict[str, Path] = {}
    for f in files:
        unique.setdefault(str(f), f)
    return list(unique.values()), missing


def check_file(path: Path) -> list[Problem]:
    from statemachine.definition import validate

    return validate(path)


def _github(problem: Problem) -> str:
    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    props = [f"file={problem.file}"]
    if problem.line is not None:
        props.append(f"line={problem.line}")
        props.append(f"col={problem.column or 1}")
    props.append(f"title={problem.rule}")
    level = "error" if problem.severity == "error" else "warning"
    return f"::{level} {','.join(props)}::{esc(problem.message)} (at {problem.json_path})"


def run(args: argparse.Namespace) -> int:
    from statemachine.cli import UsageError

    files, missing = expand(args.paths)
    if missing:
        raise UsageError("no such file, folder or matching pattern: " + ", ".join(missing))
    if not files:
        raise UsageError("no definition files found (looked for *.asl.yaml, *.asl.yml, *.asl.json)")
    results: dict[str, list[Problem]] = {}
    for path in files:
        results[str(path)] = check_file(path)
    invalid = sum(1 for probs in results.values() if any(p.severity == "error" for p in probs))
    if args.format == "json":
        print_json(
            {
                "valid": invalid == 0,
                "files": [
                    {
                        "file": name,
                        "valid": not any(p.severity == "error" for p in probs),
                        "problems": [p.to_json() for p in probs],
                    }
                    for name, probs in results.items()
                ],
            },
            args.query,
        )
    else:
        out = sys.stdout
        for probs in results.values():
            for problem in probs:
                out.write(
                    (_github(problem) if args.format == "github" else problem.format()) + "\n"
                )
        if args.format == "text":
            total = len(results)
            if invalid:
                print(f"{invalid} of {total} file{'s' * (total != 1)} invalid", file=sys.stderr)
            else:
                print(f"{total} file{'s' * (total != 1)} valid", file=sys.stderr)
    return 1 if invalid else 0
