"""Render ``report.html``: one self-contained page (inline CSS, images as data URIs)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlsys.evaluation._report import embed_png

if TYPE_CHECKING:
    from mlsys.evaluation._report import ReportArtifacts, ReportOptions

__all__ = ["SECTIONS", "render_html"]

#: Section ids of the page, in order; a test checks each is present.
SECTIONS = (
    "model",
    "metrics",
    "confusion",
    "plots",
    "gains",
    "segments",
    "importance",
    "shap",
    "notes",
)

_NAV = {
    "model": "Model",
    "metrics": "Metrics",
    "confusion": "Confusion matrix",
    "plots": "Plots",
    "gains": "Gains",
    "segments": "Segments",
    "importance": "Importance",
    "shap": "SHAP",
    "notes": "Notes",
}

_CSS = """
body{font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,
sans-serif;color:#1d2330;background:#f6f7f9;margin:0}
main{max-width:980px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;
border-bottom:2px solid #e3e7ee;padding-bottom:4px}
p.lede{color:#4a5466;margin:0 0 12px}nav a{margin-right:12px;font-size:13px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top}
th{background:#f0f3f7;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.flag td{background:#fff6e5}.undef{color:#a3541b;font-style:italic}
figure{display:inline-block;margin:8px 16px 16px 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #e6e9ef}
figcaption{font-size:12px;color:#4a5466;max-width:420px}
pre{background:#f0f3f7;padding:10px;font-size:12px;overflow-x:auto}
.muted{color:#6b7585;font-size:12px}ul.notes li{margin-bottom:4px}
"""

_METRIC_HELP = {
    "roc_auc": "Chance a random converter is scored above a random non-converter (0.5 = random).",
    "pr_auc": "Average precision over all recall levels; compare with the positive rate.",
    "log_loss": "Penalty for confident wrong probabilities (lower is better).",
    "brier": "Mean squared error of the probabilities (lower is better).",
    "ece": "Expected calibration error: mean gap between predicted and observed rates.",
    "positive_rate": "Share of rows that converted (the base rate).",
    "precision": "Share of called leads that converted, at the threshold.",
    "recall": "Share of converters called, at the threshold.",
    "f1": "Harmonic mean of precision and recall, at the threshold.",
    "accuracy": "Share of rows decided correctly (misleading on imbalanced data).",
    "threshold": "Probability at or above which a lead is called (chosen on validation).",
}

_PLOT_TEXT = {
    "roc": (
        "ROC curve",
        "How well the score ranks converters above non-converters at every cut-off. The "
        "further the curve bows to the top left, the better; the diagonal is random.",
    ),
    "precision_recall": (
        "Precision-recall",
        "Hit rate of calls (precision) against the share of converters found (recall). On "
        "imbalanced data this shows what ROC hides: the dashed line is calling at random.",
    ),
    "calibration": (
        "Calibration",
        "Observed conversion rate per probability bin. On the diagonal, a 20 % score converts "
        "20 % of the time, so probabilities can feed forecasts and expected-value routing.",
    ),
    "gains_lift": (
        "Gains and lift",
        "Left: share of converters found when calling the top share of leads. Right: how many "
        "times the base rate each score decile converts; decile 1 is the top 10 %.",
    ),
    "score_distribution": (
        "Score distribution",
        "Probabilities of converters and non-converters, each scaled to its own total; the "
        "less they overlap, the better the separation. The dotted line is the threshold.",
    ),
    "threshold_analysis": (
        "Threshold analysis",
        "Precision, recall, F1 and share of leads called at every threshold; the dotted line "
        "is the threshold in use. Move it to trade calls against converters found.",
    ),
}


def render_html(
    artifacts: ReportArtifacts, facts: Mapping[str, Any], options: ReportOptions
) -> str:
    """The report page for ``artifacts`` (model ``facts`` in the model section)."""
    metrics = artifacts.metrics
    name = str(facts.get("name") or "model")
    rate = metrics.get("positive_rate")
    cm = metrics["confusion_matrix"]
    lede = (
        f"{metrics['n_rows']:,} rows, {cm['tp'] + cm['fn']:,} converters"
        f" ({_fmt(rate, pct=True)}), threshold {_fmt(facts.get('threshold'))}"
    )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Evaluation report: {_e(name)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>Evaluation report: {_e(name)}</h1>",
        f'<p class="lede">{_e(lede)}</p>',
        "<nav>" + "".join(f'<a href="#{s}">{_NAV[s]}</a>' for s in SECTIONS) + "</nav>",
        _model_section(facts),
        _metrics_section(artifacts, options),
        _confusion_section(artifacts),
        _plots_section(artifacts, options),
        _gains_section(artifacts),
        _segments_section(artifacts, options),
        _importance_section(artifacts, options),
        _shap_section(artifacts, options),
        _notes_section(artifacts),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: Any) -> str:
    return html.escape(str(value))


def _fmt(value: Any, *, pct: bool = False, digits: int = 4) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{max(digits - 2, 1)}%}" if pct else f"{value:.{digits}f}"


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        body.append(f"<tr{css}>" + "".join(row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(value: Any, *, pct: bool = False, why: str | None = None) -> str:
    if value is None:
        title = f' title="{_e(why)}"' if why else ""
        return f'<td class="num undef"{title}>undefined</td>'
    css = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    return f"<td{css}>{_e(_fmt(value, pct=pct))}</td>"


def _model_section(facts: Mapping[str, Any]) -> str:
    rows = [
        [f"<th>{_e(key.replace('_', ' '))}</th>", f"<td>{_e(_fmt(value))}</td>"]
        for key, value in facts.items()
    ]
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return f'<section id="model"><h2>Model</h2><table>{body}</table></section>'


def _metrics_section(artifacts: ReportArtifacts, options: ReportOptions) -> str:
    metrics = artifacts.metrics
    undefined = metrics.get("undefined_metrics", {})
    level = f"{options.confidence:.0%}"
    rows = []
    for key, value in metrics.items():
        if key in ("confusion_matrix", "undefined", "undefined_metrics", "n_rows"):
            continue
        interval = artifacts.intervals.get(key)
        ci = "<td></td>"
        if interval is not None and interval.low is not None and interval.high is not None:
            ci = f'<td class="num">{interval.low:.4f} to {interval.high:.4f}</td>'
        elif interval is not None:
            ci = f'<td class="undef">{_e(interval.reason or "")}</td>'
        rows.append(
            [
                f"<td>{_e(key)}</td>",
                _cell(value, why=undefined.get(key)),
                ci,
                f'<td class="muted">{_e(_help(key))}</td>',
            ]
        )
    table = _table(["metric", "value", f"{level} interval", "what it means"], rows)
    resamples = next(iter(artifacts.intervals.values()), None)
    how = (
        f"Intervals: percentile bootstrap over {resamples.resamples} resamples of the rows "
        f"(seed {options.seed}). If two models' intervals overlap widely, this data cannot "
        "tell them apart."
        if resamples is not None
        else "No intervals (evaluation.report.bootstrap=0)."
    )
    return (
        f'<section id="metrics"><h2>Headline metrics</h2>{table}'
        f'<p class="muted">{_e(how)}</p></section>'
    )


def _help(key: str) -> str:
    if key in _METRIC_HELP:
        return _METRIC_HELP[key]
    share = key.rsplit("_", 1)[-1].replace("pct", " %")
    if key.startswith("precision_at_"):
        return f"Share of converters in the top {share} of leads by score."
    if key.startswith("recall_at_"):
        return f"Share of all converters found in the top {share} of leads by score."
    if key.startswith("lift_at_"):
        return f"Conversion rate of the top {share} of leads over the base rate."
    return ""


def _confusion_section(artifacts: ReportArtifacts) -> str:
    image = artifacts.files.get("confusion_matrix_png")
    figure = (
        f'<figure><img alt="confusion matrix" src="{embed_png(image)}"></figure>' if image else ""
    )
    cm = artifacts.metrics["confusion_matrix"]
    counts = _table(
        ["", "not called", "called"],
        [
            ["<th>not converted</th>", _cell(cm["tn"]), _cell(cm["fp"])],
            ["<th>converted</th>", _cell(cm["fn"]), _cell(cm["tp"])],
        ],
    )
    return (
        '<section id="confusion"><h2>Confusion matrix and classification report</h2>'
        f"{figure}{counts}<pre>{_e(artifacts.classification_report)}</pre></section>"
    )


def _plots_section(artifacts: ReportArtifacts, options: ReportOptions) -> str:
    figures = []
    for name, (title, caption) in _PLOT_TEXT.items():
        path = artifacts.plots.get(name)
        if path is None:
            continue
        figures.append(
            f'<figure id="plot-{name}"><img alt="{_e(title)}" src="{embed_png(path)}">'
            f"<figcaption><b>{_e(title)}.</b> {_e(caption)}</figcaption></figure>"
        )
    if not options.plots:
        body = '<p class="muted">Plots are off (evaluation.report.plots=false).</p>'
    elif not figures:
        body = '<p class="undef">No plot could be drawn on these labels; see the notes.</p>'
    else:
        body = "".join(figures)
    return f'<section id="plots"><h2>Plots</h2>{body}</section>'


def _gains_section(artifacts: ReportArtifacts) -> str:
    rows = [
        [
            _cell(r["decile"]),
            _cell(r["rows"]),
            _cell(r["converters"]),
            _cell(r["conversion_rate"], pct=True),
            _cell(r["min_probability"]),
            _cell(r["lift"], why="no converters"),
            _cell(r["cumulative_converters"], pct=True, why="no converters"),
        ]
        for r in artifacts.gains
    ]
    table = _table(
        ["decile", "rows", "converters", "rate", "lowest score", "lift", "converters found"],
        rows,
    )
    how = (
        "Leads ranked by score and cut into ten equal parts. 'Converters found' is the share of "
        "all converters in this decile and the ones above it: what calling down to here finds."
    )
    return (
        f'<section id="gains"><h2>Gains by decile</h2>{table}'
        f'<p class="muted">{_e(how)}</p></section>'
    )


def _segments_section(artifacts: ReportArtifacts, options: ReportOptions) -> str:
    report = artifacts.segments
    if report is None:
        return (
            '<section id="segments"><h2>Segments</h2><p class="muted">No segment breakdown '
            "(training: evaluation.report.segment_column=&lt;column&gt;; ml-evaluate: "
            "--segment &lt;column&gt;).</p></section>"
        )
    rows, classes = [], []
    for s in report.segments:
        rows.append(
            [
                f"<td>{_e(s.segment)}</td>",
                _cell(s.rows),
                _cell(s.positives),
                _cell(s.positive_rate, pct=True),
                _cell(s.mean_probability, pct=True),
                _cell(s.roc_auc, why="needs both classes"),
                _cell(s.pr_auc, why="needs both classes"),
                _cell(s.precision, why="no row reaches the threshold"),
                _cell(s.recall, why="no converters"),
                f'<td class="muted">{_e("; ".join(s.notes))}</td>',
            ]
        )
        classes.append("flag" if s.too_few else "")
    table = _table(
        [
            _e(report.column),
            "rows",
            "converters",
            "rate",
            "mean score",
            "ROC-AUC",
            "PR-AUC",
            "precision",
            "recall",
            "notes",
        ],
        rows,
        classes,
    )
    pooled = (
        f" {report.pooled_values} rarer values are pooled into 'other'."
        if report.pooled_values
        else ""
    )
    binned = (
        " The column is numeric with many values: segments are quantile bins."
        if report.binned
        else ""
    )
    how = (
        f"Highlighted segments hold fewer than {report.min_positives} converters or "
        f"{report.min_negatives} non-converters: their metrics are too noisy to trust."
        f"{pooled}{binned}"
    )
    return (
        f'<section id="segments"><h2>Segments by {_e(report.column)}</h2>{table}'
        f'<p class="muted">{_e(how)}</p></section>'
    )


def _importance_section(artifacts: ReportArtifacts, options: ReportOptions) -> str:
    imp = artifacts.importance
    if imp is None:
        body = '<p class="muted">Off (evaluation.report.importance=false).</p>'
    elif not imp.values:
        body = f'<p class="undef">{_e(imp.reason)}</p>'
    else:
        image = artifacts.files.get("feature_importance_png")
        figure = (
            f'<figure><img alt="feature importance" src="{embed_png(image)}"></figure>'
            if image
            else ""
        )
        top = list(imp.values.items())[: options.top_features]
        rows = [[f"<td>{_e(k)}</td>", _cell(v)] for k, v in top]
        body = (
            f'<p class="muted">{_e(imp.description)}'
            + (f"; measured on {imp.rows:,} rows" if imp.rows else "")
            + f".</p>{figure}{_table(['column', 'importance'], rows)}"
        )
    return f'<section id="importance"><h2>Feature importance</h2>{body}</section>'


def _shap_section(artifacts: ReportArtifacts, options: ReportOptions) -> str:
    shap = artifacts.shap
    if shap is None:
        body = (
            '<p class="muted">Off (evaluation.report.shap=true turns it on; it costs seconds '
            "per thousand rows on large models).</p>"
        )
    elif not shap.available:
        body = f'<p class="undef">{_e(shap.reason)}</p>'
    else:
        image = artifacts.files.get("shap_png")
        figure = (
            f'<figure><img alt="SHAP summary" src="{embed_png(image)}"></figure>' if image else ""
        )
        top = list(shap.mean_abs.items())[: options.top_features]
        rows = [[f"<td>{_e(k)}</td>", _cell(v)] for k, v in top]
        body = (
            f'<p class="muted">{_e(shap.method)} on {shap.rows:,} sampled rows in '
            f"{shap.seconds:.2f} s; values in {_e(shap.output)} of the uncalibrated model, "
            "summed over the columns each input became.</p>"
            f"{figure}{_table(['column', 'mean |SHAP|'], rows)}"
        )
    return f'<section id="shap"><h2>SHAP values</h2>{body}</section>'


def _notes_section(artifacts: ReportArtifacts) -> str:
    if not artifacts.notes:
        body = '<p class="muted">Nothing undefined, skipped or flagged.</p>'
    else:
        body = (
            '<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in artifacts.notes) + "</ul>"
        )
    return f'<section id="notes"><h2>Notes</h2>{body}</section>'
