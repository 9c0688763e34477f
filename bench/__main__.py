"""`make bench`: the figures in README's benchmark tables. This module is the registry:
which benchmarks there are, in the order they run, and at which size.

Each benchmark prints its figure and one line of JSON (also appended to
bench/results/last-run.jsonl). `--smoke` runs everything at a tiny size, only to prove
the benchmarks still work; CI runs that. `--only NAME ...` runs only those (interactive
measures the population compose loaded: name both).

Each family of benchmarks is a module of its own (bench/compose.py, deliver.py,
budget.py, importer.py, interactive.py, search.py, flood.py, feeds.py, stories.py,
privacy.py, storage.py), and what they share (output, databases, processes) is
bench/harness.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    budget,
    compose,
    deliver,
    emulator_heap,
    feeds,
    flood,
    importer,
    interactive,
    privacy,
    search,
    storage,
    stories,
)
from bench.harness import RESULTS, emit, postgres_database
from bench.population import FULL, SMOKE, Size


@dataclass(frozen=True)
class Run:
    """What one `python -m bench` gives each benchmark: its size and its databases."""

    smoke: bool
    sqlite: str
    pg: str | None  # None: no PostgreSQL server reachable, its benchmarks are skipped
    tmp: Path

    def pick(self, smoke: int, full: int) -> int:
        return smoke if self.smoke else full

    @property
    def size(self) -> Size:
        return SMOKE if self.smoke else FULL

    @property
    def search_size(self) -> Size:
        return Size(
            subscribers=1_000,
            articles=self.pick(2_000, 100_000),
            days=80,
            following=0,
            muting=0,
        )


BENCHMARKS: dict[str, Callable[[Run], object]] = {
    "story_quality": lambda run: stories.run_story_quality(),
    "compose": lambda run: compose.report_memory(
        compose.run_compose(run.sqlite, "sqlite", run.size)
    ),
    "interactive": lambda run: interactive.run_interactive(
        run.sqlite, run.pick(20, 200), run.size.subscribers
    ),
    "flood": lambda run: flood.run_flood(run.sqlite, run.pick(10, 40)),
    "throttle_session": lambda run: flood.run_throttle_session(),
    "inline_flood": lambda run: flood.run_inline_flood(
        run.sqlite, run.search_size, run.pick(10, 40)
    ),
    "inline_flood_pg": lambda run: (
        flood.run_inline_flood(run.pg, run.search_size, run.pick(10, 40)) if run.pg else None
    ),
    "digest_during_delivery": lambda run: interactive.run_digest_during_delivery(
        run.sqlite, run.size, run.pick(10, 60)
    ),
    "compose_pg": lambda run: (
        compose.run_compose(run.pg, "postgresql", run.size) if run.pg else None
    ),
    "shared_budget_pg": lambda run: (
        budget.run_shared_budget(run.pg, run.smoke) if run.pg else None
    ),
    "processes_pg": lambda run: (
        budget.run_processes(run.pg, run.pick(30, 600)) if run.pg else None
    ),
    "storage_pg": lambda run: storage.run_storage(run.pg, run.size) if run.pg else None,
    "deliver_capped": lambda run: deliver.run_deliver_capped(run.sqlite, run.pick(40, 2_000)),
    "deliver_uncapped": lambda run: deliver.run_deliver_uncapped(run.sqlite, run.pick(40, 2_000)),
    "send_path": lambda run: deliver.run_send_path(run.sqlite, run.pick(40, 2_000)),
    "emulator_heap": lambda run: emulator_heap.run_emulator_heap(run.pick(20_000, 1_000_000)),
    "import": lambda run: importer.run_import(run.pick(200, 10_000)),
    "feeds": lambda run: feeds.run_feeds(run.tmp, run.pick(100, 2_000)),
    "import_words": lambda run: importer.run_import(run.pick(200, 10_000), words=10_000),
    "search": lambda run: search.run_search(
        run.sqlite, "sqlite", run.search_size, run.pick(25, 200)
    ),
    "export_memory": lambda run: privacy.run_export_memory(run.sqlite, run.pick(2_000, 100_000)),
    "search_pg": lambda run: (
        search.run_search(run.pg, "postgresql", run.search_size, run.pick(25, 200))
        if run.pg
        else None
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; proves it works")
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only these benchmarks: {', '.join(BENCHMARKS)}",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "last-run.jsonl").write_text("", encoding="utf-8")
    emit(
        "machine",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'smoke' if args.smoke else 'full'} size",
        cores=os.cpu_count(),
        python=platform.python_version(),
        smoke=args.smoke,
        date=datetime.now(UTC).date().isoformat(),
    )
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as pg:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        run = Run(smoke=args.smoke, sqlite=sqlite, pg=pg, tmp=Path(tmp))
        for name, benchmark in BENCHMARKS.items():
            if not args.only or name in args.only:
                benchmark(run)
    if pg is None:
        print("PostgreSQL not reachable: compose_pg skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
