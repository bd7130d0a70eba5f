"""One escaper per output format for strings that come from files (generator names, citations, notes, paths).

A result file may be hostile: a generator name or citation holding ``|``, a newline, ``<script>``,
``[a](javascript:…)`` or a remote image ``![](http://…)`` must show as the text it is, never become table
structure, a link, an image or markup.

* ``md_text``: for a Markdown table cell or heading (GitHub Flavored Markdown, https://github.github.com/gfm/):
  line breaks become spaces; ``&`` and ``<`` become character references (no raw HTML tag or entity survives;
  a ``>`` alone opens nothing inside a line and stays as it is); the
  punctuation GFM gives meaning to inside a line — ``\\ ` * _ ~ [ ] |`` — is backslash-escaped (GFM §2.4: any
  ASCII punctuation may be escaped; §4.10: ``\\|`` keeps a pipe inside a table cell), so no link, image, code
  span, emphasis or extra column can start.
  (GitHub renders the Markdown, and a raw HTML tag cannot survive ``md_text``; the web page uses ``html_text``.)
* ``md_code``: a code span (e.g. a result file's path) that no backtick inside can close early.
* ``csv_text``: a CSV cell (the ``csv`` module quotes separators, quotes and line breaks); a text cell that a
  spreadsheet would run as a formula (first character ``= + - @``, tab or carriage return) gets a leading ``'``
  (OWASP, "CSV Injection"). Only text columns go through it, never numbers.
* ``html_text``: HTML text content or a double- or single-quoted attribute value (the web page,
  ``benchmark.reports.page``): the standard library's ``html.escape`` with ``quote=True`` turns ``& < > " '``
  into character references, so no tag, entity, attribute or script can start; NUL and the other C0 control
  characters but tab, line feed and carriage return (not allowed in HTML text, WHATWG HTML §13.1.4 "control
  characters") become U+FFFD. Never put its output inside ``<script>`` or ``<style>``, or in an unquoted
  attribute or a URL: the page carries data only in element text and quoted ``data-*`` attributes.
"""

from __future__ import annotations

import html
import re

_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_MD_PUNCT = re.compile(r"([\\`*_~\[\]|])")
_HTML_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _one_line(text: object) -> str:
    return _LINE_BREAKS.sub(" ", "" if text is None else str(text))


def md_text(text: object) -> str:
    """``text`` (any object, ``str()``-ed; None -> "") on one line, shown literally in a GFM table cell or heading
    (module docstring). Plain words, digits, spaces and ``, ; : . ( ) / - = + @ # ! >`` are left as they are."""
    return _MD_PUNCT.sub(r"\\\1", _one_line(text).replace("&", "&amp;").replace("<", "&lt;"))


def md_code(text: object) -> str:
    """``text`` as a GFM code span on one line: fenced with one more backtick than its longest run, a pipe
    escaped (GFM §4.10 applies ``\\|`` inside code spans in tables too)."""
    body = _one_line(text).replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def csv_text(text: object) -> str:
    """``text`` (any object, ``str()``-ed; None -> "") for a CSV text cell (module docstring)."""
    text = "" if text is None else str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def html_text(text: object) -> str:
    """``text`` (any object, ``str()``-ed; None -> "") shown literally as HTML element text or inside a quoted
    attribute value (module docstring): ``html.escape(text, quote=True)`` after control characters become U+FFFD.

    Example:
        >>> html_text('<img src=x onerror="alert(1)">')
        '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(_HTML_CONTROL.sub("\ufffd", "" if text is None else str(text)), quote=True)
