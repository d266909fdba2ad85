"""The hostile-strings corpus and the checks every output must pass with it in the data.

A value from a file, a path or a server is data: it must never become markup in a
markdown comment, a workflow command or a terminal sequence in a log. Import the corpus
and the two checks in any test that renders something a server or a pull request wrote:

    from hostile_strings import HOSTILE, assert_plain_text, assert_inert_markdown
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

# Each value is named for what it tries; every one carries a marker word (evil, pwned,
# ...) that must never show in markdown's HTML outside <code>.
HOSTILE: dict[str, str] = {
    "backtick": "a`b``c evil",
    "fence": "```\n</details>\n<!-- evil",
    "details": "</details></details>evil",
    "comment-open": "<!-- evil",
    "comment-close": "--> evil",
    "mention": "@org/team evil",
    "link": "[x](http://evil)",
    "image": "![i](http://evil/x.png)",
    "img-tag": "<img src=x onerror=alert(1)>",
    "newline": "a\nb evil",
    "carriage-return": "a\rb evil",
    "error-command": "x\n::error::pwned",
    "mask-command": "x\n::add-mask::pwned",
    "osc-title": "\x1b]0;pwned\x07",
    "osc-52": "\x1b]52;c;ZXZpbA==\x07",
    "csi": "\x1b[2Jpwned",
    "c1-csi": "\x9b2Jpwned",
    "bidi": "abc\u202eevil\u2066x\u2069",
    "backtick-edges": "`evil`",
    "long": "evil" + "L" * 100_000,
}

# One value that tries everything at once: the shape of the forged-plan comment.
ALL_AT_ONCE = "`` ``` </details> <!-- @org/team [x](http://evil) \n::error::pwned \x1b]0;t\x07"
HOSTILE["all-at-once"] = ALL_AT_ONCE

# The values a file or directory name can hold (no "/", no NUL, at most 255 bytes).
PATH_SAFE: dict[str, str] = {
    name: value for name, value in HOSTILE.items() if "/" not in value and len(value.encode()) < 200
}

MARKERS = ("evil", "pwned", "onerror", "@org", "ZXZpbA")

# Raw bytes no text output may hold: C0 but newline and tab (CR included), DEL, C1, the
# bidi embeddings, overrides and isolates, and the line and paragraph separators.
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The only lines allowed to start with "::": the annotations `lint --format github` writes.
_ANNOTATION = re.compile(r"::(error|warning) file=[^:\n]*(,line=\d+,col=\d+)?,title=[^:\n]*::")


def assert_plain_text(output: str, *, github: bool = False) -> None:
    """No raw control byte, no bidi control, no line a runner reads as a workflow command,
    no traceback."""
    raw = _RAW.search(output)
    assert raw is None, (
        f"raw {raw.group()!r} at {raw.start()}: {output[max(0, raw.start() - 60) : raw.start() + 20]!r}"
    )
    for line in output.split("\n"):
        if line.startswith("::"):
            assert github and _ANNOTATION.match(line), (
                f"a line starts a workflow command: {line[:200]!r}"
            )
    assert "Traceback" not in output


class _Audit(HTMLParser):
    """The HTML a markdown output yields: which tags, attributes and comments it holds,
    and whether a marker shows outside <code> (a value rendered as markup or text)."""

    ALLOWED = {
        "p": set(),
        "code": {"class"},
        "pre": set(),
        "details": {"open"},
        "summary": set(),
        "h2": set(),
        "h3": set(),
        "strong": set(),
        "blockquote": set(),
        "ul": set(),
        "li": set(),
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.in_code = 0
        self.details = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.ALLOWED:
            self.problems.append(f"<{tag}> from a value")
            return
        for name, value in attrs:
            if name not in self.ALLOWED[tag] or (name == "class" and value != "language-diff"):
                self.problems.append(f"<{tag} {name}={value!r}> from a value")
        self.in_code += tag == "code"
        self.details += tag == "details"

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.ALLOWED:
            self.problems.append(f"</{tag}> from a value")
        self.in_code -= tag == "code"
        self.details -= tag == "details"
        if self.details < 0:
            self.problems.append("</details> closes a <details> the tool did not open")

    def handle_comment(self, data: str) -> None:
        self.problems.append(f"an HTML comment: <!--{data[:60]}")

    def handle_data(self, data: str) -> None:
        if self.in_code <= 0:
            shown = [marker for marker in MARKERS if marker in data]
            if shown:
                self.problems.append(f"{shown} outside <code>: {data[:120]!r}")


def assert_inert_markdown(output: str) -> None:
    """The markdown, rendered by a CommonMark parser, yields only the tool's own markup:
    no image, link, comment or inline HTML from a value, balanced <details>, and every
    hostile value inside <code>. It is text too (a job log shows it)."""
    assert_plain_text(output)
    html = MarkdownIt("commonmark").render(output)
    audit = _Audit()
    audit.feed(html)
    audit.close()
    assert not audit.problems, audit.problems[:5]
    assert audit.details == 0, "unbalanced <details>"
