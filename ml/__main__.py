"""Command line: ``python -m ml <command>``.

  train     [--model M ...] [--run-date D]   train, evaluate and register a version per model (cold start: skip)
  evaluate  --model M [--version V] [--run-date D]
                                             a stored version (default: the champion) on today's evaluation cut-off
  promote   [--model M ...] [--version V]    make the latest trained version champion if it beats the current one
  rollback  --model M [--to V]               point the champion back (to V, or to the one it replaced)
  score     [--run-date D]                   nightly scores as of D + 1 into ml.customer_scores
  status                                     champion and last training per model

The run date is the last business day with complete data (default: the latest completed order in the warehouse).
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date

from ml.config import MODEL_NAMES, MLConfig, ml_config

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("train", "evaluate", "promote", "rollback", "score", "status"):
        cmd = sub.add_parser(name)
        if name in ("train", "promote"):
            cmd.add_argument("--model", action="append", choices=MODEL_NAMES, help="repeatable; default: all")
        if name in ("evaluate", "rollback"):
            cmd.add_argument("--model", required=True, choices=MODEL_NAMES)
        if name in ("evaluate", "promote"):
            cmd.add_argument("--version")
        if name in ("train", "evaluate", "score"):
            cmd.add_argument("--run-date", type=date.fromisoformat)
        if name == "rollback":
            cmd.add_argument("--to", dest="to_version")
    return parser


def _run_date(conn, cfg: MLConfig, given: date | None) -> date:
    if given:
        return given
    from ml.features import data_stats

    last = data_stats(conn, cfg, date.max).last_order_date
    if last is None:
        raise SystemExit("no completed orders in the warehouse: pass --run-date")
    return last


def _train(cfg: MLConfig, models: list[str], run_date: date | None) -> int:
    from psycopg.errors import UndefinedTable

    from ml.pipeline import recording_failure, train_and_evaluate
    from proactive_crm.warehouse import connect

    failed = []
    with connect() as conn:
        day = _run_date(conn, cfg, run_date)
        for model in models:  # as in crm_train, one model's failure does not stop the others
            try:
                with recording_failure(cfg, model, day):
                    print(train_and_evaluate(conn, cfg, model, day).summary(), flush=True)
            except UndefinedTable:
                raise  # the marts are missing for every model: main() says which database and what to do
            except Exception:
                conn.rollback()
                log.exception("%s: training failed (recorded in last_training.json)", model)
                failed.append(model)
    if failed:
        print(f"training FAILED for {', '.join(failed)} (see the errors above)", file=sys.stderr)
    return 1 if failed else 0


def _evaluate(cfg: MLConfig, model: str, version: str | None, run_date: date | None) -> int:
    from ml import registry
    from ml.pipeline import evaluate_version
    from proactive_crm.warehouse import connect

    chosen = registry.load(cfg, model, version) if version else registry.champion(cfg, model)
    if chosen is None:
        raise SystemExit(f"{model} has no champion: pass --version")
    with connect() as conn:
        results = evaluate_version(conn, cfg, model, chosen, _run_date(conn, cfg, run_date))
    print(f"{model} {chosen.version}")
    for name, metrics in results.items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        print(f"  {name:<10} {shown}")
    return 0


def _promote(cfg: MLConfig, models: list[str], version: str | None) -> int:
    from ml.promotion import promote
    from ml.registry import RegistryError, last_training

    errors = 0
    for model in models:
        trained = last_training(cfg, model) or {}
        if version is None and trained.get("status") in ("cold_start", "failed"):
            # nothing new to decide on: say so and go on with the other models (a cold start is no error)
            what = "cold start" if trained["status"] == "cold_start" else "training failed"
            when = trained["run_date"]
            print(f"{model}: nothing to promote, {what} at the last training ({when}): {trained['reason']}")
            errors += trained["status"] == "failed"
            continue
        try:
            decision = promote(cfg, model, version)
        except RegistryError as exc:
            print(f"error: {exc}", file=sys.stderr)
            errors += 1
            continue
        if decision.promoted:
            verdict = "promoted"
        elif decision.serving != "xgboost":
            verdict = f"not promoted, the {decision.serving} baseline serves"
        elif decision.champion_version:
            verdict = f"not promoted, champion {decision.champion_version} keeps serving"
        else:
            verdict = "not promoted"
        print(f"{model} {decision.version}: {verdict}: {decision.reason}")
    return 2 if errors else 0


def _training_line(trained: dict) -> str:
    if not trained:
        return "-"
    line = f"{trained['run_date']} {trained['status']}" + (f" {trained['version']}" if trained.get("version") else "")
    return line + (f": {trained['reason']}" if trained.get("reason") else "")


def _status(cfg: MLConfig) -> int:
    from ml import registry, serving

    for model in MODEL_NAMES:
        state = registry.champion_state(cfg, model)
        trained = registry.last_training(cfg, model) or {}
        serves = serving.read(cfg, model)
        if serves is None and model == "next_purchase_category":
            serves_line = "the rules (no decision yet: train and promote first)"
        elif serves is None:
            serves_line = (
                "BG/NBD fitted on each night's history, the rules below 50 customers "
                "(no decision yet: train and promote first)"
            )
        elif serves["method"] == "xgboost":
            champion = registry.champion(cfg, model)
            mixed = (champion.metadata.get("blend") or {}) if champion else {}
            blended = f" blended with {mixed['method']} (model weight {mixed['weight']})" if mixed.get("method") else ""
            platt = mixed.get("calibration")
            if platt:  # the served probability's level is the calibration's, not the blend's (ml.calibration)
                blended += f", probability calibrated (Platt a={platt['a']:.2f} b={platt['b']:.2f}, "
                blended += f"{platt['rows']:,} validation rows)"
            serves_line = f"xgboost {state.get('version')}{blended}: {serves['reason']}"
        else:
            serves_line = f"{serves['method']} baseline (fitted with {serves['version']}): {serves['reason']}"
        print(f"{model:<24} champion {state.get('version') or '-':<22} last training: {_training_line(trained)}")
        print(f"{'':<24} serves: {serves_line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from psycopg.errors import UndefinedTable

    from ml.features import FeatureMismatch
    from ml.registry import RegistryError
    from ml.split import InsufficientHistory

    try:
        return _dispatch(args, ml_config())
    except (RegistryError, FeatureMismatch, InsufficientHistory) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except UndefinedTable as exc:
        print(f"error: {_missing_marts(exc)}", file=sys.stderr)
        return 2


def _missing_marts(exc: Exception) -> str:
    """The usual cause is the wrong warehouse: the demo gives each own-data landing folder a database of its own."""
    from urllib.parse import urlparse

    from proactive_crm.warehouse import warehouse_url

    database = urlparse(warehouse_url()).path.lstrip("/") or "(default)"
    return (
        f"{str(exc).splitlines()[0]} in database {database}. Build the marts with the nightly run first "
        "(make demo, or airflow dags test crm_nightly); after `python -m devtools.demo --landing DIR` load "
        "that dataset's database and model registry first: "
        'eval "$(python -m devtools.demo --landing DIR [--config FILE] --print-env)"'
    )


def _dispatch(args: argparse.Namespace, cfg: MLConfig) -> int:
    if args.command == "train":
        return _train(cfg, args.model or list(MODEL_NAMES), args.run_date)
    if args.command == "evaluate":
        return _evaluate(cfg, args.model, args.version, args.run_date)
    if args.command == "promote":
        return _promote(cfg, args.model or list(MODEL_NAMES), args.version)
    if args.command == "rollback":
        from ml import serving
        from ml.registry import rollback

        entry = rollback(cfg, args.model, args.to_version)
        serving.write(cfg, args.model, "xgboost", entry["version"], f"rolled back from {entry['previous']}")
        print(f"{args.model}: champion is now {entry['version']} (was {entry['previous']})")
        return 0
    if args.command == "score":
        from ml.score import score
        from proactive_crm.warehouse import connect, warehouse_url

        url = warehouse_url()
        with connect(url) as conn:
            day = _run_date(conn, cfg, args.run_date)
        for line in score(url, cfg, day):
            print(line)
        return 0
    return _status(cfg)


if __name__ == "__main__":
    sys.exit(main())
