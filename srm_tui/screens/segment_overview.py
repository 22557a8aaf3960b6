"""Segments › overview: MRR, customer lifetime value and churn rate of a segment (or of the
whole cache), and its composition as bar charts; choosing a bar narrows the segment to it.

Dismisses with the chosen bar's condition (None on esc); the opener adds it to a builder.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.screens.workers import work
from srm_tui.segments.compile import Compiled, compile_segment
from srm_tui.segments.model import Node, Segment
from srm_tui.segments.overview import Overview, Reported, by_currency
from srm_tui.widgets.bars import BarChart
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

PANELS = (
    ("status", "Status"),
    ("stability", "Stability"),
    ("channel", "Channel"),
    ("period", "Plan period"),
    ("country", "Country"),
    ("region", "Region"),
    ("loyalty", "Loyalty (lifetime payments)"),
    ("value", "Value (lifetime revenue)"),
)


def money(amounts: dict[str, float], top: int = 3) -> str:
    """Amounts in their own currencies, each in its minor units with its code."""
    return by_currency(amounts, top)


def metrics_text(o: Overview, reported: Reported | None = None) -> str:
    rate = "—" if o.churn_rate is None else f"{o.churn_rate:.1%}"
    head = ""
    if reported:
        from srm_tui.domain.money import money as one

        head = (
            f"{reported.headline()} · {o.subscribers:,} paying monthly\n"
            f"Lifetime revenue {one(reported.revenue, reported.currency)} · by currency "
            f"{money(o.revenue)}\n"
        )
    return (
        head
        + f"MRR by currency {money(o.mrr)}"
        + ("" if reported else f" · {o.subscribers:,} paying monthly")
        + "\n"
        f"CLV by currency {money(o.clv)} per paying customer\n"
        f"Churn (30 days) {rate}: {o.churned:,} of the {o.churn_base:,} subscriptions "
        "running 30 days ago have ended"
    )


class OverviewScreen(Screen[Node | None]):
    BINDINGS = bindings("segment_overview")

    def __init__(self, title: str, population: Compiled | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.whole_cache = population is None
        self.population = population
        self.result: Overview | None = None
        self.cache_result: Overview | None = None
        self.reported: Reported | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("counting…", id="metrics", markup=False)
        yield Static("", id="cache", markup=False)
        with VerticalScroll():
            with Grid():
                for key, title in PANELS:
                    yield BarChart(key, title, id=f"chart-{key}")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self._crumbs()
        self.query_one(BarChart).focus()
        self.action_recount()

    def action_recount(self) -> None:
        now = self.app.settings.now_ts()
        population = self.population or compile_segment(Segment(), now)
        self.query_one("#metrics", Static).update("counting…")
        self._compute(population, now, not self.whole_cache)

    class Computed(Message):
        """An overview was computed (``cache``: the whole cache's), or the error."""

        def __init__(self, result: Any, cache: bool, reported: Any = None) -> None:
            super().__init__()
            self.result = result
            self.cache = cache
            self.reported = reported

    @work(thread=True, exclusive=True, group="overview")
    def _compute(self, population: Compiled, now: int, with_cache: bool) -> None:
        runner = self.app.session.segments
        reported = None
        try:
            result: Any = runner.overview(population, now)
            reported = result.reported(runner.rates(), self.app.settings.currency)
        except Exception as exc:  # said on the metrics line
            result = exc
        self.post_message(self.Computed(result, False, reported))
        if with_cache and not isinstance(result, Exception):
            try:
                whole: Any = runner.overview(compile_segment(Segment(), now), now)
                reported = whole.reported(runner.rates(), self.app.settings.currency)
            except Exception as exc:  # said on the cache line
                whole = exc
            self.post_message(self.Computed(whole, True, reported))

    def on_overview_screen_computed(self, message: Computed) -> None:
        result, cache = message.result, message.cache
        if isinstance(result, Exception):
            self.query_one("#cache" if cache else "#metrics", Static).update(
                Text(f"⚠ overview failed: {result}")
            )
            return
        if cache:
            self.cache_result = result
            whole = message.reported
            self.query_one("#cache", Static).update(
                Text(
                    f"whole cache: {count(result.customers, 'customer')} · {whole.headline()} · "
                    f"churn {'—' if result.churn_rate is None else f'{result.churn_rate:.1%}'}"
                )
            )
            self._crumbs()
            return
        self.result = result
        self.reported = message.reported
        self.query_one("#metrics", Static).update(Text(metrics_text(result, self.reported)))
        for key, _ in PANELS:
            self.query_one(f"#chart-{key}", BarChart).show(result.panel(key))
        self._crumbs()

    def _crumbs(self) -> None:
        from srm_tui.screens.segment_common import freshness

        what = "the whole cache" if self.whole_cache else visible(self.title_text, 50)
        parts = [f"Overview › {what}"]
        if self.result is not None:
            share = ""
            if self.cache_result is not None and self.cache_result.customers:
                share = f" ({self.result.customers / self.cache_result.customers:.1%} of the cache)"
            parts.append(f"{count(self.result.customers, 'customer')}{share}")
            parts.append(f"{self.result.elapsed_ms:,.0f} ms")
        parts.append(freshness(self.app))
        self.query_one("#crumbs", Static).update(Text(" · ".join(parts)))

    @on(BarChart.Chosen)
    def _chosen(self, event: BarChart.Chosen) -> None:
        self.dismiss(event.bar.node)
