from django import template
from django.utils.safestring import mark_safe

from ai_features.rendering import answer_html

register = template.Library()


@register.filter(name="answer_html")
def answer_html_filter(text: str) -> str:
    """A saved answer as cleaned HTML (see `rendering.answer_html`: escaped, sanitised, no attributes)."""
    return mark_safe(answer_html(text))  # noqa: S308 - cleaned by nh3 just above
