"""Convert the public Olist e-commerce dataset into the pipeline's landing layout.

    python -m examples.olist.adapter --source ../shared/data/olist --out /tmp/olist_landing [--customers-limit N]

The adapter converts formats and names only. What a real retailer's export would also contain (Olist's own
order statuses, naive local timestamps, orders without items, several reviews per order) is written as it is
and left to the pipeline's configuration (``examples/olist/pipeline.yml``). Whatever the contract requires and
Olist lacks is filled in by a documented rule and listed in the printed report; nothing is dropped without a
counted reason. See ``examples/olist/README.md`` for the full mapping.

Olist data: "Brazilian E-Commerce Public Dataset by Olist", CC BY-NC-SA 4.0.

The adapter is split by concern: ``olist_files`` reads the export, ``mapping`` (with the rules of
``mapping_rules``) maps it onto the landing contract, ``accounting`` keeps the report, ``landing_writer`` writes
the partitions; this module is the command line and ``run``, and names the parts its callers use.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# the adapter's public names, for its callers (tests, make_sample, the real-data benchmark)
from examples.olist.accounting import Report, format_report
from examples.olist.landing_writer import _check_out, write_landing
from examples.olist.mapping import convert
from examples.olist.mapping_rules import CONSUMABLE_CATEGORIES, CURRENCY, STORE_TIME_ZONE, WRITTEN_SOURCES
from examples.olist.olist_files import OLIST_FILES, REPO_ROOT, default_olist_dir, local_time_issue, read_olist

__all__ = [
    "CONSUMABLE_CATEGORIES",
    "CURRENCY",
    "OLIST_FILES",
    "REPO_ROOT",
    "STORE_TIME_ZONE",
    "WRITTEN_SOURCES",
    "Report",
    "convert",
    "default_olist_dir",
    "format_report",
    "local_time_issue",
    "main",
    "read_olist",
    "run",
    "write_landing",
]


def run(
    source: str | os.PathLike,
    out: str | os.PathLike,
    customers_limit: int | None = None,
    overwrite: bool = False,
) -> Report:
    _check_out(Path(out), overwrite)  # fail before the work, not after it
    tables, report = convert(read_olist(source, customers_limit))
    write_landing(tables, out, overwrite=overwrite)
    report.out = str(out)
    return report



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.olist.adapter", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=None,
        help="folder with the Olist CSVs (default: $CRM_OLIST_DIR or <repo>/../shared/data/olist)",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    parser.add_argument(
        "--customers-limit",
        type=int,
        default=None,
        metavar="N",
        help="keep only the first N customers (by customer_id) and their data",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the customers/products/orders/order_lines/reviews folders under --out",
    )
    args = parser.parse_args(argv)
    source = args.source or default_olist_dir()
    try:
        report = run(source, args.out, customers_limit=args.customers_limit, overwrite=args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
