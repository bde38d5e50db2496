"""The day loop: simulate one day at a time, write that day's partitions, forget them.

Memory is bounded by the per-customer state arrays (~150 bytes per customer, see COMPACT_DTYPES in
population and customers) plus one chunk of text: the first day's customer file (every
customer who signed up before the window), a day's web events and the truth file are written in chunks.
"""

from __future__ import annotations

import itertools
import resource
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from devtools.synth import catalogue as catalogue_mod
from devtools.synth import customers as customers_mod
from devtools.synth import events, experience, orders, population, records, web
from devtools.synth.clock import HOUR, Clock, iso_utc
from devtools.synth.config import SynthConfig, random_streams
from devtools.synth.dirty import DefectInjector, DefectLog
from devtools.synth.truth import TruthWriter
from devtools.synth.vocab import STORE_ZONE
from devtools.synth.writer import PartitionWriter, Row
from proactive_crm.landing.contract import ORDER_CHANNELS, SOURCES

OUTPUT_SOURCES = ("products", "customers", "orders", "order_lines", "reviews", "web_events")
CHUNK = 20_000  # customers per text chunk of the first day's file
EVENT_CHUNK = 50_000  # web events formatted at a time
PROGRESS_EVERY = 30


@dataclass
class Summary:
    rows: dict[str, int]
    files: dict[str, int]
    defects: int
    seconds: float
    peak_rss_mb: float
    truth: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"{s:<16} {self.rows.get(s, 0):>12,} rows in {self.files.get(s, 0):>5} files" for s in OUTPUT_SOURCES]
        out += [f"{'_truth/' + k:<16} {v:>12,} rows" for k, v in self.truth.items()]
        if self.defects:
            out.append(f"{'_truth/defects':<16} {self.defects:>12,} rows")
        out.append(f"{self.seconds:.1f} s, peak RSS {self.peak_rss_mb:.0f} MB")
        return out


def prepare_out_dir(cfg: SynthConfig) -> None:
    """Refuse to mix runs: an earlier run's partitions would otherwise survive next to this one's."""
    ours = [cfg.out_dir / name for name in (*SOURCES, "_truth")]
    existing = [p for p in ours if p.exists()]
    if existing and not cfg.overwrite:
        raise FileExistsError(
            f"{cfg.out_dir} already holds generated data ({', '.join(p.name for p in existing)}); "
            "pass --overwrite to replace it or choose another --out"
        )
    for p in existing:
        shutil.rmtree(p)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Simulation:
    def __init__(self, cfg: SynthConfig) -> None:
        self.cfg = cfg
        self.streams = random_streams(cfg.seed)
        self.clock = Clock(cfg.start_date, cfg.days, customers_mod.ZONES)
        self.store_zone = customers_mod.ZONES.index(STORE_ZONE)
        self.salt = int(np.random.SeedSequence(cfg.seed).generate_state(1, np.uint64)[0])
        self.cat = catalogue_mod.build_catalogue(self.streams["catalogue"])
        pop_rng = self.streams["population"]
        self.ident = customers_mod.build_identity(cfg.customers, self.clock.day0_epoch // 86_400, pop_rng)
        self.pop = population.build_population(cfg.customers, self.clock, self.ident.zone, self.cat, pop_rng)
        self.visitors = web.build_visitors(cfg.customers, pop_rng)
        self.writer = PartitionWriter(cfg.out_dir)
        self.truth = TruthWriter(cfg.out_dir)
        self.injector = DefectInjector(self.streams["dirty"], cfg.dirty_rate, cfg.days) if cfg.dirty else None
        self.defect_log = DefectLog(cfg.out_dir / "_truth" / "defects.csv") if cfg.dirty else None
        self.queue = experience.ReviewQueue()
        self.next_order, self.next_review, self.next_event = 1, 1, 1
        self.truth_orders = 0

    # -- writing ---------------------------------------------------------------------------------------------
    def emit(self, source: str, d: int, chunks: Iterable[list[Row]]) -> None:
        """Write one partition from row chunks (dirty mode: with defects), if it ends up with any rows.

        Chunks are consumed one at a time, so a generator keeps only one chunk of text in memory."""
        dt = self.clock.date_str(d)
        file = None
        if self.injector is not None:  # rows re-delivered or delivered late into this partition go last
            chunks = itertools.chain(chunks, [[]])
        for rows in chunks:
            tags: list[tuple] = []
            if self.injector is not None:
                rows, tags = self.injector.inject(source, d, rows, take_carried=not rows)
            if not rows:
                continue
            file = file or self.writer.open(source, dt)
            first = file.append(rows)
            if tags and self.defect_log is not None:
                self.defect_log.record(source, dt, self.writer.relative(file), first, tags)
        if file is not None:
            self.writer.close(file, source)

    # -- one day ---------------------------------------------------------------------------------------------
    def step(self, d: int) -> None:
        rng = self.streams["daily"]
        self.emit("products", d, [self._product_rows(d, rng)])
        self.emit("customers", d, self._customer_chunks(d, rng))
        day_orders = orders.simulate_orders(self.pop, self.cat, self.clock, d, self.store_zone, rng)
        order_no = self.next_order + np.arange(len(day_orders))
        self.next_order += len(day_orders)
        outcome = experience.apply_experience(self.pop, self.ident, day_orders, order_no, d, self.queue, rng)
        naive_zone = self.store_zone if self.cfg.dirty else None
        stamps = records.ordered_at(day_orders, self.clock, d, naive_zone)
        self.emit("orders", d, [records.order_rows(day_orders, order_no, stamps)])
        self.emit("order_lines", d, [records.line_rows(day_orders, order_no, self.cat.product_ids)])
        truth_rows = records.truth_order_rows(day_orders, order_no, outcome, self.clock, d)
        self.truth.orders(truth_rows)
        self.truth_orders += len(truth_rows)
        self.emit("reviews", d, [self._review_rows(d, rng)])
        self.emit("web_events", d, self._event_chunks(d, day_orders, order_no))

    def _product_rows(self, d: int, rng: np.random.Generator) -> list[Row]:
        if d == 0:  # the whole catalogue, as exported by last night's job
            products = np.arange(len(self.cat))
            stamps = iso_utc(np.full(len(products), self.clock.epoch(0) + HOUR // 2))
        else:  # price changes run at night, before the first order of the day
            products = catalogue_mod.draw_price_changes(self.cat, rng)
            stamps = iso_utc(self.clock.epoch(d) + np.sort(rng.integers(0, HOUR // 2, size=len(products))))
        return catalogue_mod.product_rows(self.cat, products, stamps)

    def _customer_chunks(self, d: int, rng: np.random.Generator) -> Iterator[list[Row]]:
        pop, ident = self.pop, self.ident
        lo, hi = np.searchsorted(pop.signup_day, [d, d + 1])  # ids follow signup order
        if d == 0:
            lo = 0  # customers from before the window are in the first day's partition
        for start in range(lo, hi, CHUNK):
            idx = np.arange(start, min(start + CHUNK, hi))
            updated = customers_mod.initial_updated_epoch(pop, idx, self.clock, rng)
            yield customers_mod.customer_rows(ident, pop, idx, updated)
        if d > 0:
            changed = customers_mod.draw_updates(ident, pop, d, rng)
            stamps = customers_mod.update_epoch(pop, changed, d, self.clock, rng)
            by_time = np.argsort(stamps, kind="stable")
            yield customers_mod.customer_rows(ident, pop, changed[by_time], stamps[by_time])

    def _review_rows(self, d: int, rng: np.random.Generator) -> list[Row]:
        due = self.queue.take(d)
        if due is None:
            return []
        rows, numbers = experience.review_rows(
            due, self.pop, self.clock, d, self.next_review, self.cat.product_ids, rng
        )
        self.next_review += len(numbers)
        return rows

    def _event_chunks(self, d: int, day_orders: orders.DayOrders, order_no: np.ndarray) -> Iterator[list[Row]]:
        rng = self.streams["web"]
        factor = orders.activity_factor(self.clock, d)
        online = day_orders.customer[day_orders.channel <= orders.APP]  # web and app
        browsing = web.browsing_sessions(
            self.pop, self.visitors, self.cat, self.clock, d, factor, self.store_zone, online, rng
        )
        sessions = web.Sessions.concat([browsing, web.order_sessions(self.pop, self.cat, day_orders, order_no, rng)])
        plan = events.plan_events(sessions, self.clock, d, self.salt, rng)
        first, self.next_event = self.next_event, self.next_event + len(plan)
        return (
            events.event_rows(plan, self.cat, lo, min(lo + EVENT_CHUNK, len(plan)), first)
            for lo in range(0, len(plan), EVENT_CHUNK)
        )

    # -- the run ---------------------------------------------------------------------------------------------
    def run(self) -> Summary:
        started = time.perf_counter()
        for d in range(self.cfg.days):
            self.step(d)
            if not self.cfg.quiet and ((d + 1) % PROGRESS_EVERY == 0 or d + 1 == self.cfg.days):
                written = self.writer.rows_written
                print(
                    f"[synth] day {d + 1}/{self.cfg.days} ({self.clock.date_str(d)}): "
                    f"{written.get('orders', 0):,} orders, {written.get('web_events', 0):,} web events, "
                    f"{time.perf_counter() - started:.1f} s",
                    file=sys.stderr,
                )
        self.truth.close()
        self.truth.customers(self.pop, self.ident, self.cat, self.clock, self.salt)
        self.truth.params(self._params())
        if self.defect_log is not None:
            self.defect_log.close()
        return Summary(
            rows=dict(self.writer.rows_written),
            files=dict(self.writer.files_written),
            defects=self.defect_log.count if self.defect_log is not None else 0,
            seconds=time.perf_counter() - started,
            peak_rss_mb=peak_rss_mb(),
            truth={"customers": self.cfg.customers, "orders": self.truth_orders},
        )

    def _params(self) -> dict:
        cfg = self.cfg
        return {
            "customers": cfg.customers,
            "days": cfg.days,
            "seed": cfg.seed,
            "start_date": cfg.start_date.isoformat(),
            "end_date": cfg.end_date.isoformat(),
            "dirty": cfg.dirty,
            "dirty_rate": cfg.dirty_rate if cfg.dirty else 0,
            "anonymous_only_visitors": len(self.visitors.rate),
            "products": len(self.cat),
            "store_time_zone": STORE_ZONE,
            "naive_store_timestamps": cfg.dirty,
            "behaviour": {
                "mean_spontaneous_rate_per_day": population.MEAN_SPONTANEOUS_RATE,
                "cancel_prob": orders.CANCEL_PROB,
                "return_prob": orders.RETURN_PROB,
                "late_prob_by_channel": {ORDER_CHANNELS[k]: v for k, v in orders.LATE_PROB.items()},
                "complaint_prob_after_bad_experience": experience.COMPLAINT_PROB,
                "churn_prob_after_bad_experience": experience.CHURN_AFTER_BAD,
                "churn_prob_after_complaint": experience.CHURN_AFTER_COMPLAINT,
                "review_prob": experience.REVIEW_PROB,
                "churned_browsing_factor": web.CHURNED_BROWSING,
            },
        }


def generate(cfg: SynthConfig) -> Summary:
    prepare_out_dir(cfg)
    return Simulation(cfg).run()
