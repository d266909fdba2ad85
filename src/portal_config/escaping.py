"""How a value from a file, a path or a server is shown: as data, never as markup or control.

One function per medium, and every renderer calls them for every value it did not write
itself (portal ids, work type names, paths, YAML keys, server messages):

- `escape_text` for terminals and logs: a control character, a line break inside the
  value or a bidi override becomes a visible escape (``\\x1b``, ``\\n``, ``\\u202e``), so a
  value can neither start a line (a forged ``::error::`` or ``::add-mask::`` workflow
  command) nor send a terminal sequence (an OSC title or clipboard write, a CSI);
- `escape_markdown` for markdown: the value as an inline code span whose fence is longer
  than any backtick run in it, so it cannot close the span and open markup, a link, an
  image, an ``@mention`` or an HTML comment;
- `escape_html` for markdown's raw HTML blocks (``<summary>``), where markdown is not
  parsed and a code span would show its backticks.

Pure and stdlib-only: lint imports it on every commit.
"""

from __future__ import annotations

import html
import re

# A value is shown as written unless it holds one of these: the C0 controls but tab
# (newline and CR included: inside a value they would start a new line), DEL, the C1
# controls (0x9b is a CSI on some terminals), the bidi embeddings, overrides and isolates
# and marks (they make text read differently than it is), and the line and paragraph
# separators some viewers break lines at.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0a-\x1f{_BEYOND_C0}]")
# json.dumps escapes C0 in strings itself; outside them it writes newlines of its own.
_JSON_RAW = re.compile(f"[{_BEYOND_C0}]")
_BACKTICKS = re.compile("`+")


def escape_text(value: str) -> str:
    """``value`` with every control character, line break and bidi control made visible."""
    return _UNSAFE.sub(_visible, value)


def _visible(match: re.Match[str]) -> str:
    # The Python escape a reader can search for: \n, \r, \x1b, \x9b, \u202e.
    return match.group().encode("unicode_escape").decode("ascii")


def escape_markdown(value: str) -> str:
    """``value`` as a CommonMark inline code span that shows it exactly, on one line."""
    shown = escape_text(value)
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(shown)), default=0) + 1)
    # A span strips one space from each end when both ends have one; a value that starts
    # or ends with a backtick needs a space there so it does not join the fence. Padding
    # both ends in either case keeps the value's own spaces.
    if not shown.strip(" "):
        # All spaces are shown as they are; an empty value as one space, never as "``".
        shown = shown or " "
    elif shown.startswith(("`", " ")) or shown.endswith(("`", " ")):
        shown = f" {shown} "
    return f"{fence}{shown}{fence}"


def escape_json(text: str) -> str:
    """JSON text (json.dumps with ensure_ascii off) with the characters it leaves raw
    (DEL, C1, bidi controls, line separators) as ``\\uXXXX``: the same JSON value, and a
    file a terminal can show. Outside strings JSON is ASCII, so every one is in a string."""
    return _JSON_RAW.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_html(value: str) -> str:
    """``value`` as text inside raw HTML: tags, entities and quotes shown, not parsed."""
    return html.escape(escape_text(value), quote=True)
