"""Answers are Markdown; on the page they are HTML, cleaned so nothing a provider (or a record) says can run.

The allowed tags carry no attributes at all: no `style` (the CSP has no 'unsafe-inline'), no event
handlers, no links to follow.
"""

import html
import re

import markdown
import nh3

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "code", "h3", "h4", "blockquote"}
# A list right under a line of text needs a blank line before it in Markdown; models (and people) leave it out.
_LIST_AFTER_TEXT = re.compile(r"(?m)^(?!\s*(?:[-*+]|\d+[.)])\s)(\S.*)\n(?=\s*(?:[-*+]|\d+[.)])\s)")


def answer_html(text: str) -> str:
    # Markup in the text is shown as text ("<script>" in a subject's name stays visible and inert).
    text = html.escape(_LIST_AFTER_TEXT.sub(r"\1\n\n", text or ""), quote=False)
    # Only "sane_lists": the tables extension would write style="text-align: …" attributes.
    rendered = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(rendered, tags=ALLOWED_TAGS, attributes={}, url_schemes=set())
