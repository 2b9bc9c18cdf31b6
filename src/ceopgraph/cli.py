"""Command line: thin wrappers over the modules, one sub-command each."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ceopgraph.build import BuildError, build_dataset, union_graph, write_dumps
from ceopgraph.config import load_settings
from ceopgraph.validate import load_shapes, validate_graph


def cmd_build(args: argparse.Namespace) -> int:
    """Assemble, validate, then write the dumps (or nothing, if the data does not conform)."""
    settings = load_settings(base_uri=args.base_uri)
    started = time.perf_counter()
    try:
        dataset = build_dataset(settings)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 2
    report = validate_graph(union_graph(dataset), load_shapes(settings.shapes_dir, settings.base_uri))
    if not report.conforms:
        print(
            f"build refused, nothing written: the dataset does not conform to the shapes "
            f"({len(report.violations)} violations)",
            file=sys.stderr,
        )
        for result in report.violations:
            print(
                f"- {result.message}\n  focus: {result.focus_node}\n  shape: {result.source_shape}",
                file=sys.stderr,
            )
        return 1
    dumps = write_dumps(dataset, Path(args.out), settings.base_uri)
    graphs = {g for *_, g in dataset.quads()}
    print(
        f"built {len(union_graph(dataset))} triples in {len(graphs)} named graphs, validated and written "
        f"in {time.perf_counter() - started:.2f} s (base URI {settings.base_uri})"
    )
    for dump in dumps:
        print(f"  {dump.path}  {dump.fmt.media_type}  sha256:{dump.sha256[:16]}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ceopgraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="assemble, validate and write the dumps")
    build.add_argument("--out", default="dist", help="folder for the dumps (default: dist)")
    build.add_argument(
        "--base-uri", help="canonical base URI (default: CEOPGRAPH_BASE_URI or the built-in one)"
    )
    build.set_defaults(handler=cmd_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
