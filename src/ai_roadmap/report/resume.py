"""Résumé bullets by the roadmap's formula, every number read from the learner's runs.

The seed's formula: 业务背景 → 数据规模 → 模型 → 指标提升 → 工程亮点 → 业务落地收益
(business context → data scale → model → metric gain → engineering highlights → business
impact). ``resume.yaml`` holds each project's words (context, model) and *names* the metrics
that carry its numbers; :func:`bullets` fills them from the latest finished run of each
project, and links the bullet to that run. A project never run gives no bullet; a metric the
run did not record is left out; the business impact, which no offline run can measure, is
left for the learner to fill in from production rather than made up. Stage-4/5 milestones
without an entry get a shorter bullet from the catalog and their target metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from ai_roadmap.catalog import Catalog, Item
from ai_roadmap.errors import RoadmapError
from ai_roadmap.tracking import Record

LANGS = ("zh", "en")
WORDS = {
    "zh": {
        "context": "业务背景",
        "data": "数据规模",
        "model": "模型",
        "metric": "指标",
        "vs": "对比",
        "highlights": "工程亮点",
        "impact": "业务落地收益",
        "impact_text": "（离线复现，无线上数据：上线后用真实业务指标填写，勿估算）",
        "proxy": "代理数据集",
        "target": "路线图目标",
        "run": "MLflow 运行",
    },
    "en": {
        "context": "Context",
        "data": "Data",
        "model": "Model",
        "metric": "Result",
        "vs": "vs",
        "highlights": "Engineering",
        "impact": "Business impact",
        "impact_text": "(offline reproduction, no production data: fill in from the live "
        "system's own figures, never an estimate)",
        "proxy": "proxy dataset",
        "target": "roadmap target",
        "run": "MLflow run",
    },
}


@dataclass(frozen=True)
class Bullet:
    """One project's bullet and the run its numbers come from."""

    item_id: str
    run_id: str
    text: str


def load_specs() -> dict[str, dict[str, Any]]:
    """The project words and metric names of ``resume.yaml``."""
    text = resources.files("ai_roadmap.report").joinpath("resume.yaml").read_text("utf-8")
    specs = yaml.safe_load(text)
    if not isinstance(specs, dict):
        raise RoadmapError("ai_roadmap/report/resume.yaml is not a mapping of project ids")
    return specs


def _number(value: float, spec: dict[str, Any]) -> str:
    fmt = spec.get("fmt")
    text = fmt.format(value) if fmt else f"{value:.4g}"
    unit = spec.get("unit")
    return f"{text} {unit}" if unit else text


def _figure(record: Record, spec: dict[str, Any], lang: str) -> str | None:
    value = record.metrics.get(spec["key"])
    return None if value is None else f"{spec[lang]} {_number(value, spec)}"


def _metric_clause(record: Record, spec: dict[str, Any], lang: str) -> str | None:
    main = _figure(record, spec["metric"], lang)
    if main is None:
        return None
    base_spec = spec.get("baseline")
    base = record.metrics.get(base_spec["key"]) if base_spec else None
    value = record.metrics[spec["metric"]["key"]]
    if base_spec is None or base is None:
        return main
    delta = value - base
    sign = "+" if delta >= 0 else "−"
    words = WORDS[lang]
    return (
        f"{main}（{words['vs']}{base_spec[lang]} {_number(base, spec['metric'])}，"
        f"{sign}{_number(abs(delta), spec['metric'])}）"
        if lang == "zh"
        else f"{main} ({words['vs']} {base_spec[lang]} {_number(base, spec['metric'])}: "
        f"{sign}{_number(abs(delta), spec['metric'])})"
    )


def _join(parts: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(parts)


def project_bullet(item: Item, record: Record, spec: dict[str, Any] | None, lang: str) -> str:
    """The formula's six steps for one project, numbers from ``record``, words from ``spec``."""
    words = WORDS[lang]
    title = item.title_zh if lang == "zh" else item.title_en
    dataset = record.tags.get("roadmap.dataset", "")
    if record.tags.get("roadmap.proxy") == "true":
        dataset += f" [{words['proxy']}]"
    steps: list[tuple[str, str]] = []
    if spec is not None:
        steps.append((words["context"], spec["context"][lang]))
        sizes = [f for f in (_figure(record, d, lang) for d in spec.get("data", [])) if f]
        steps.append((words["data"], _join([dataset, *sizes] if dataset else sizes, lang)))
        steps.append((words["model"], spec["model"][lang]))
        metric = _metric_clause(record, spec, lang)
        highlights = [
            f for f in (_figure(record, h, lang) for h in spec.get("highlights", [])) if f
        ]
    else:
        steps.append((words["data"], dataset))
        metric, highlights = _target_figure(item, record, lang), []
    if metric:
        target = record.tags.get("roadmap.target", "")
        verdict = record.tags.get("roadmap.verdict", "")
        steps.append(
            (
                words["metric"],
                f"{metric}（{words['target']} {target}: {verdict}）"
                if lang == "zh"
                else f"{metric} ({words['target']} {target}: {verdict})",
            )
        )
    if highlights:
        steps.append((words["highlights"], _join(highlights, lang)))
    steps.append((words["impact"], words["impact_text"]))
    sep = "；" if lang == "zh" else "; "
    body = sep.join(f"{name}{'：' if lang == 'zh' else ': '}{text}" for name, text in steps if text)
    return f"**{title}** — {body} ({words['run']} `{record.run_id}`)"


def _target_figure(item: Item, record: Record, lang: str) -> str | None:
    if item.target is None or item.target.metric not in record.metrics:
        return None
    return f"{item.target.metric} {record.metrics[item.target.metric]:.4g}"


def bullets(catalog: Catalog, records: dict[str, Record], lang: str = "zh") -> list[Bullet]:
    """One bullet per project whose latest finished run is quick or full, in catalog order."""
    if lang not in LANGS:
        raise RoadmapError(f"--lang {lang!r} is not supported: use zh or en", 2)
    specs = load_specs()
    out = []
    for item in catalog.items:
        record = records.get(item.id)
        is_project = item.id in specs or (item.kind == "milestone" and item.stage in (4, 5))
        if record is None or item.kind != "milestone" or not is_project:
            continue
        if record.tags.get("roadmap.scale") == "smoke":  # a plumbing check, not a result
            continue
        out.append(
            Bullet(item.id, record.run_id, project_bullet(item, record, specs.get(item.id), lang))
        )
    return out
