"""Assemble the report: one self-contained HTML file (styles, Vega-Lite runtime and data inlined; no network)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import jinja2

Spec = dict[str, Any]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    anchor: str
    title: str
    intro: str = ""
    charts: list[tuple[str, Spec]] = field(default_factory=list)  # (caption, spec)
    tables: list[Table] = field(default_factory=list)
    empty: str = ""  # shown instead of charts when the night has nothing to show here, and why


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CRM nightly report {{ run_date }}</title>
<style>
  :root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --accent: #1565c0; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
         background: #f5f7fa; }
  header { background: #102a43; color: #fff; padding: 16px 20px; }
  header h1 { margin: 0; font-size: 1.35rem; }
  header p { margin: 4px 0 0; color: #bcccdc; font-size: .9rem; }
  header a { color: #9fb3c8; }
  nav { display: flex; flex-wrap: wrap; gap: 6px 14px; padding: 8px 20px; background: #fff;
        border-bottom: 1px solid var(--line); font-size: .88rem; position: sticky; top: 0; z-index: 2; }
  nav a { color: var(--accent); text-decoration: none; }
  main { max-width: 1200px; margin: 0 auto; padding: 12px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
            margin: 12px 0; }
  h2 { margin: 0 0 6px; font-size: 1.15rem; }
  .intro, .empty { color: var(--muted); margin: 0 0 10px; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 14px; }
  .kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; }
  .kpi { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
  .kpi h3 { margin: 0; font-size: .9rem; color: var(--muted); font-weight: 600; }
  .kpi-value { font-size: 1.6rem; font-weight: 700; }
  .kpi-previous { color: var(--muted); font-size: .85rem; }
  .kpi-definition { font-size: .8rem; color: var(--muted); margin: 4px 0; }
  figure { margin: 0; min-width: 0; }
  figcaption { font-size: .85rem; color: var(--muted); margin-bottom: 4px; }
  .chart { width: 100%; }
  .table-wrap { overflow-x: auto; }
  table { border-collapse: collapse; font-size: .85rem; margin-top: 10px; min-width: 60%; }
  th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; white-space: nowrap; }
  @media (max-width: 600px) { nav { position: static; } main { padding: 6px; } section { padding: 12px 10px; } }
  footer { color: var(--muted); font-size: .8rem; text-align: center; padding: 16px; }
</style>
<script>
// vega-embed bundle (Vega {{ vega_versions }}), inlined so the report opens offline.
{{ runtime | safe }}
</script>
</head>
<body>
<header>
  <h1>CRM nightly report · {{ run_date }}</h1>
  <p>Business day {{ run_date }}; month to date {{ month_start }} – {{ run_date }}. Generated {{ generated_at }}.
  {%- if docs_link %} Definitions and lineage: <a href="{{ docs_link }}">dbt docs</a>.{% endif %}</p>
</header>
<nav>{% for s in sections %}<a href="#{{ s.anchor }}">{{ s.title }}</a>{% endfor %}</nav>
<main>
<section id="kpis">
  <h2>Headline KPIs</h2>
  <p class="intro">{{ kpi_intro }}</p>
  {% if tiles %}
  <div class="kpis">
    {% for t in tiles %}
    <div class="kpi" data-kpi="{{ t.column }}">
      <h3>{{ t.label }}</h3>
      <div class="kpi-value">{{ t.value }}</div>
      <div class="kpi-previous">{{ t.previous }}</div>
      <p class="kpi-definition">{{ t.definition }}</p>
      <figure><div class="chart" id="{{ t.chart_id }}"></div></figure>
    </div>
    {% endfor %}
  </div>
  {% else %}<p class="empty">{{ kpi_empty }}</p>{% endif %}
</section>
{% for s in sections if s.anchor != "kpis" %}
<section id="{{ s.anchor }}">
  <h2>{{ s.title }}</h2>
  {% if s.intro %}<p class="intro">{{ s.intro }}</p>{% endif %}
  {% if s.empty %}<p class="empty">{{ s.empty }}</p>{% endif %}
  {% if s.charts %}
  <div class="grid">
    {% for caption, chart_id in s.chart_ids %}
    <figure>{% if caption %}<figcaption>{{ caption }}</figcaption>{% endif %}
      <div class="chart" id="{{ chart_id }}"></div></figure>
    {% endfor %}
  </div>
  {% endif %}
  {% for table in s.tables %}
  <div class="table-wrap"><table>
    <thead><tr>{% for c in table.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>{% for row in table.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
  </table></div>
  {% endfor %}
</section>
{% endfor %}
</main>
<footer>proactive-crm · every number comes from the warehouse marts of this night
{%- if docs_link %} · <a href="{{ docs_link }}">dbt docs and lineage</a>{% endif %}</footer>
<script id="chart-specs" type="application/json">{{ specs_json | safe }}</script>
<script>
(function () {
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  Object.keys(specs).forEach(function (id) {
    vegaEmbed("#" + id, specs[id], {renderer: "svg", actions: false})
      .then(function () { document.getElementById(id).setAttribute("data-rendered", "true"); })
      .catch(function (error) {
        document.getElementById(id).setAttribute("data-rendered", "failed");
        console.error("chart " + id + ": " + error);
      });
  });
})();
</script>
</body>
</html>
"""
)


def render_html(context: dict[str, Any], runtime: str, vega_versions: str) -> str:
    specs: dict[str, Spec] = {}
    for tile in context["tiles"]:
        specs[tile["chart_id"]] = tile.pop("spec")
    sections = []
    for section in context["sections"]:
        chart_ids = []
        for index, (caption, spec) in enumerate(section.charts):
            chart_id = f"chart-{section.anchor}-{index}"
            specs[chart_id] = spec
            chart_ids.append((caption, chart_id))
        sections.append({**section.__dict__, "chart_ids": chart_ids})
    return TEMPLATE.render(
        **{**context, "sections": sections},
        specs_json=_script_json(specs),
        runtime=runtime.replace("</script", "<\\/script"),
        vega_versions=vega_versions,
    )
