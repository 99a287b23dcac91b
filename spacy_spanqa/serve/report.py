"""The Insights page as one self-contained HTML file: CSS inline, charts as SVG,
each table downloadable as a CSV `data:` link. `spanqa serve` serves it at
/insights and `spanqa-bot report --html FILE` writes it: the same code."""
from html import escape
from pathlib import Path
from typing import List, Optional
from urllib.parse import quote

from .charts import Series, bar_chart
from .insights import Insights, bin_label, csv_tables, to_csv

STATIC = Path(__file__).with_name("static")


def insights_html(insights: Insights) -> str:
    """The whole page (<!doctype html> ... </html>), with nothing fetched from elsewhere."""
    css = (STATIC / "insights.css").read_text(encoding="utf8")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>spacy-spanqa insights</title><style>{css}</style></head>"
        f"<body>{insights_section(insights)}</body></html>"
    )


def insights_section(insights: Insights) -> str:
    """The page's content, one <section> per question the keepers of the documents ask."""
    tables = csv_tables(insights)

    def download(name: str) -> str:
        href = "data:text/csv;charset=utf-8," + quote(to_csv(tables[name]))
        return f'<a class="csv" download="{name}.csv" href="{href}">Download {name}.csv</a>'

    asked, answered = insights.asked, insights.answered
    share = f"{answered / asked:.0%}" if asked else "n/a"
    scope = f" (knowledge bases: {escape(', '.join(insights.knowledge_bases))})" if insights.knowledge_bases else ""
    days = [d.day for d in insights.days]
    parts: List[str] = [
        '<main class="insights" id="insights">',
        f"<h1>Insights{scope}</h1>",
        f'<p class="meta">From {escape(insights.database)}, {escape(insights.generated_at)} (UTC).</p>',
        '<dl class="totals">',
        _total("Questions", str(asked)),
        _total("Answered", f"{answered} ({share})"),
        _total("I don't know", str(asked - answered)),
        _total("Helpful", str(insights.votes.get("helpful", 0)), "votes-helpful"),
        _total("Not helpful", str(insights.votes.get("not_helpful", 0)), "votes-not-helpful"),
        _total("Corrections", str(insights.corrections)),
        _total("Asked on Slack / web", f"{insights.where_asked['slack']} / {insights.where_asked['web']}"),
        "</dl>",
        "<section><h2>Questions per day</h2>",
        bar_chart("Questions per day: answered and I don't know", days, [
            Series("answered", [d.answered for d in insights.days], "bar-answered"),
            Series("I don't know", [d.unknown for d in insights.days], "bar-unknown"),
        ]),
        download("questions_per_day"), "</section>",
        "<section><h2>Share answered over time</h2>",
        bar_chart("Share of questions answered, per day", days,
                  [Series("answered", [d.answered_share for d in insights.days], "bar-answered")], percent=True),
        "<p class=\"note\">The rest got \"I don't know\". A falling share means questions the documents don't cover.</p>",
        "</section>",
        "<section><h2>Confidence of the answers</h2>",
        bar_chart("Answers per calibrated confidence", [bin_label(i) for i in range(len(insights.confidence))],
                  [Series("answers", insights.confidence, "bar-answered")]),
        download("confidence"), "</section>",
        "<section><h2>Votes</h2>",
        bar_chart("Votes", ["Helpful", "Not helpful", "Corrections"], [Series("votes", [
            insights.votes.get("helpful", 0), insights.votes.get("not_helpful", 0), insights.corrections], "bar-votes")]),
        download("votes"), "</section>",
        _unanswered(insights), download("unanswered"), "</section>",
        _documents(insights), download("documents"),
    ]
    if insights.unused_documents is not None:
        parts.append(download("unused_documents"))
    parts += ["</section>", "</main>"]
    return "".join(parts)


def _total(label: str, value: str, test_id: str = "") -> str:
    attribute = f' data-testid="{test_id}"' if test_id else ""
    return f"<div><dt>{escape(label)}</dt><dd{attribute}>{escape(value)}</dd></div>"


def _unanswered(insights: Insights) -> str:
    head = (
        "<section><h2>Most frequent unanswered questions</h2>"
        "<p class=\"note\">Grouped when their key words (no stopwords, singular) overlap by at least half.</p>"
    )
    if not insights.unanswered:
        return head + "<p>None yet.</p>"
    rows = "".join(
        f"<tr><td>{escape(g.question)}"
        + (f'<div class="wordings">also: {escape(" · ".join(g.wordings[1:4]))}</div>' if len(g.wordings) > 1 else "")
        + f"</td><td class=\"num\">{g.count}</td></tr>"
        for g in insights.unanswered
    )
    return head + f"<table><thead><tr><th>Question</th><th>Asked</th></tr></thead><tbody>{rows}</tbody></table>"


def _documents(insights: Insights) -> str:
    parts = ["<section><h2>Documents answers come from</h2>"]
    if insights.documents:
        rows = "".join(
            f"<tr><td>{_link(d.title, d.url)}<div class=\"wordings\">{escape(d.path)}</div></td>"
            f"<td class=\"num\">{d.answers}</td><td class=\"num\">{d.helpful}</td><td class=\"num\">{d.not_helpful}</td></tr>"
            for d in insights.documents
        )
        parts.append("<table><thead><tr><th>Document</th><th>Answers</th><th>Helpful</th><th>Not helpful</th></tr></thead>"
                     f"<tbody>{rows}</tbody></table>")
    else:
        parts.append("<p>No answers yet.</p>")
    parts.append("<h2>Documents never used</h2>")
    if insights.unused_documents is None:
        parts.append("<p class=\"note\">The index does not list its documents (a Milvus index, or no index given), "
                     "so documents never used cannot be shown.</p>")
    elif insights.unused_documents:
        items = "".join(f"<li>{escape(p)}</li>" for p in insights.unused_documents)
        parts.append(f"<p class=\"note\">{len(insights.unused_documents)} of {insights.indexed_documents} indexed "
                     f"documents gave no answer yet.</p><ul class=\"unused\">{items}</ul>")
    else:
        parts.append(f"<p>Every one of the {insights.indexed_documents} indexed documents gave an answer.</p>")
    return "".join(parts)


def _link(title: str, url: Optional[str]) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{escape(url)}">{escape(title)}</a>'
    return escape(title)
