"""Render the LLM's Markdown as Telegram HTML, and cut long answers into messages.

Why HTML and not Telegram's MarkdownV2: MarkdownV2 needs 18 characters escaped and rejects
the whole message ("can't parse entities") on any slip, while the HTML mode needs only
`<`, `>` and `&` escaped. LLM output is not trusted Markdown ("**bold" with no end,
"2*3*4", "snake_case_name"), so we parse it ourselves into a small tree and serialize the
tree: whatever the input, every tag we write is closed, properly nested, and one of the
tags Telegram knows (https://core.telegram.org/bots/api#html-style).

The same tree also gives the plain-text fallback (no markup characters, links as
"text (url)"), sent when Telegram still refuses the HTML.

Supported: **bold**, __bold__, *italic*, _italic_, ~~strike~~, `code`, fenced code blocks,
[text](url) links (http, https, tg only), # headings (a bold line), "- " / "* " / "+ "
bullets ("• "), numbered lists (numbers kept: "step 2" must stay findable), > quotes
(<blockquote>), --- rules, backslash escapes.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field

from botcraft.channels.text_split import split_plain, utf16_len

TELEGRAM_TEXT_LIMIT = 4096

__all__ = [
    "TELEGRAM_TEXT_LIMIT",
    "escape_html",
    "markdown_to_plain",
    "markdown_to_telegram_html",
    "render_parts",
    "split_markdown",
]


def escape_html(text: str) -> str:
    """Escape text for Telegram HTML: only these three characters need it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    return escape_html(text).replace('"', "&quot;")


# --------------------------------------------------------------------------- inline tree


@dataclass(slots=True)
class _Text:
    text: str


@dataclass(slots=True)
class _Code:
    text: str


@dataclass(slots=True)
class _Elem:
    tag: str  # "b" | "i" | "s" | "a" | "" (a transparent group)
    children: list[_Node]
    href: str | None = None


@dataclass(slots=True)
class _Delim:
    """A run of *, _ or ~ that may open or close emphasis (CommonMark's delimiter run)."""

    char: str
    count: int
    can_open: bool
    can_close: bool
    position: int = 0
    # Pairs this run takes part in: (pair id, tag, the delimiter characters it used).
    opens: list[tuple[int, str, str]] = field(default_factory=list)
    closes: list[tuple[int, str, str]] = field(default_factory=list)


_Node = _Text | _Code | _Elem | _Delim

_ASCII_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ALLOWED_URL = re.compile(r"(?:https?|tg)://\S+", re.IGNORECASE)
_BARE_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_AUTOLINK = re.compile(r"<((?:https?|tg)://[^\s<>\"]+)>", re.IGNORECASE)
_URL_TRAILING = ".,;:!?*_~'\"»”)]"


def _is_space(char: str) -> bool:
    return char.isspace()


def _is_punct(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _flanking(before: str, after: str) -> tuple[bool, bool]:
    """CommonMark's left- and right-flanking tests for a delimiter run."""
    left = not _is_space(after) and (not _is_punct(after) or _is_space(before) or _is_punct(before))
    right = not _is_space(before) and (
        not _is_punct(before) or _is_space(after) or _is_punct(after)
    )
    return left, right


def _delimiter(char: str, count: int, before: str, after: str) -> _Delim:
    left, right = _flanking(before, after)
    if char == "_":
        # CommonMark: "_" never opens or closes inside a word, so snake_case_name and
        # file_name_v2.pdf stay literal.
        can_open = left and (not right or _is_punct(before))
        can_close = right and (not left or _is_punct(after))
    elif char == "*":
        # Stricter than CommonMark: no emphasis that starts or ends inside a word or
        # number, so "2*3*4 = 24" and "2**10" stay arithmetic. LLMs never write
        # intra-word emphasis on purpose; they do write arithmetic.
        can_open = left and not before.isalnum()
        can_close = right and not after.isalnum()
    else:  # "~~"
        can_open, can_close = left, right
    return _Delim(char, count, can_open, can_close)


def _parse_inline(source: str, links: bool = True) -> list[_Node]:
    nodes: list[_Node] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            nodes.append(_Text("".join(buffer)))
            buffer.clear()

    brackets: dict[int, int] | None = None  # computed at the first "["
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n and source[i + 1] in _ASCII_PUNCT:
            buffer.append(source[i + 1])
            i += 2
            continue
        if char == "`":
            run = _run_length(source, i, "`")
            close = _find_backtick_close(source, i + run, run)
            if close < 0:
                buffer.append("`" * run)
                i += run
                continue
            flush()
            nodes.append(_Code(_code_span_text(source[i + run : close])))
            i = close + run
            continue
        if char == "[" and links:
            if brackets is None:
                brackets = _bracket_pairs(source)
            link = _match_link(source, i, brackets)
            if link is not None:
                label, url, end = link
                flush()
                children = _parse_inline(label, links=False)
                if _ALLOWED_URL.fullmatch(url):
                    nodes.append(_Elem("a", children, href=url))
                else:
                    # javascript:, data:, relative paths: show the words, drop the target.
                    nodes.append(_Elem("", children))
                i = end
                continue
        if char == "<":
            auto = _AUTOLINK.match(source, i)
            if auto is not None:
                flush()
                url = auto.group(1)
                nodes.append(_Elem("a", [_Text(url)], href=url) if links else _Text(url))
                i = auto.end()
                continue
        if char in "hH" and (i == 0 or not source[i - 1].isalnum()):
            bare = _BARE_URL.match(source, i)
            if bare is not None:
                # A bare URL is literal text (Telegram links it by itself); without this,
                # the underscores in https://site/a_b_c_ would turn into italics.
                url = _trim_url(bare.group(0))
                buffer.append(url)
                i += len(url)
                continue
        if char in "*_~":
            run = _run_length(source, i, char)
            if char == "~" and run != 2:
                buffer.append(char * run)  # "~100 ₽" means "about", not strikethrough
                i += run
                continue
            before = source[i - 1] if i > 0 else " "
            after = source[i + run] if i + run < n else " "
            flush()
            nodes.append(_delimiter(char, run, before, after))
            i += run
            continue
        buffer.append(char)
        i += 1
    flush()
    return _process_emphasis(nodes)


def _run_length(source: str, start: int, char: str) -> int:
    end = start
    while end < len(source) and source[end] == char:
        end += 1
    return end - start


def _find_backtick_close(source: str, start: int, run: int) -> int:
    i = start
    while True:
        i = source.find("`" * run, i)
        if i < 0:
            return -1
        length = _run_length(source, i, "`")
        if length == run:
            return i
        i += length  # a longer run does not close a shorter one


def _code_span_text(content: str) -> str:
    # CommonMark strips one space on each side so that `` `x` `` can show backticks.
    if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
        return content[1:-1]
    return content


def _trim_url(url: str) -> str:
    while url and url[-1] in _URL_TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # https://ru.wikipedia.org/wiki/Foo_(bar) keeps its bracket
        url = url[:-1]
    return url


# The "(url)" or "(url "title")" after a link's label. One parenthesised level inside the
# URL is allowed (Wikipedia); the alternatives cannot overlap, so no runaway backtracking.
_LINK_TARGET = re.compile(
    r"""\(\s*(?:<([^<>\n]*)>|([^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*))"""
    r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)"""
)


def _bracket_pairs(source: str) -> dict[int, int]:
    """Each "[" that has a matching "]", by index; found in one pass, so that a text full
    of brackets does not cost a scan to the end for every one of them."""
    pairs: dict[int, int] = {}
    open_at: list[int] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            open_at.append(i)
        elif char == "]" and open_at:
            pairs[open_at.pop()] = i
        i += 1
    return pairs


def _match_link(source: str, start: int, brackets: dict[int, int]) -> tuple[str, str, int] | None:
    """Match [label](url) or [label](url "title") at `start`; None when it is not a link."""
    label_end = brackets.get(start)
    if label_end is None:
        return None
    target = _LINK_TARGET.match(source, label_end + 1)
    if target is None:
        return None
    url = target.group(1) if target.group(1) is not None else target.group(2)
    if not url:
        return None
    return source[start + 1 : label_end], url, target.end()


# Deeper emphasis is left literal: nobody means 50 nested bolds, and the renderers recurse.
_MAX_EMPHASIS_DEPTH = 6


def _process_emphasis(nodes: list[_Node]) -> list[_Node]:
    """Pair delimiter runs into <b>/<i>/<s> elements; leftovers become literal text.

    CommonMark's "process emphasis" without the rule of three: each closer takes the nearest
    opener of the same character before it; two characters from each side make bold (or
    strike), one makes italic. Delimiters between a matched pair can no longer match
    anything outside it, so pairs never cross, and whatever stays unmatched is literal:
    that is what guarantees a balanced result for "**bold" or "a * b". Searches stop at a
    per-character floor, which keeps pathological input ("a* a* a* ...") linear.
    """
    delimiters = [node for node in nodes if isinstance(node, _Delim)]
    for position, delimiter in enumerate(delimiters):
        delimiter.position = position
    stack = list(delimiters)  # the delimiters that may still take part in a pair
    floor: dict[str, int] = {}  # no usable opener of this char at or below this position
    pair_ids = itertools.count()
    k = 0
    while k < len(stack):
        closer = stack[k]
        if not (closer.can_close and closer.count > 0):
            k += 1
            continue
        lowest = floor.get(closer.char, -1)
        t = k - 1
        while t >= 0 and stack[t].position > lowest:
            candidate = stack[t]
            if candidate.char == closer.char and candidate.can_open and candidate.count > 0:
                break
            t -= 1
        else:
            floor[closer.char] = closer.position - 1
            if closer.can_open:
                k += 1
            else:
                del stack[k]
            continue
        opener = stack[t]
        use = 2 if opener.count >= 2 and closer.count >= 2 else 1
        tag = "s" if closer.char == "~" else ("b" if use == 2 else "i")
        pair = (next(pair_ids), tag, closer.char * use)
        opener.opens.append(pair)
        closer.closes.append(pair)
        opener.count -= use
        closer.count -= use
        del stack[t + 1 : k]
        k = t + 1
        if opener.count == 0:
            del stack[t]
            k = t
        if closer.count == 0:
            del stack[k]
        # else: the same closer again, it may close an outer opener with what is left
    return _build_tree(nodes)


def _build_tree(nodes: list[_Node]) -> list[_Node]:
    """Nest the nodes by the pairs _process_emphasis recorded on the delimiters."""
    root: list[_Node] = []
    open_pairs: list[tuple[int, list[_Node]]] = [(-1, root)]
    dropped: set[int] = set()
    for node in nodes:
        if not isinstance(node, _Delim):
            open_pairs[-1][1].append(node)
            continue
        # A run closes with its left characters and opens with its right ones; what is
        # left over in the middle is literal.
        for pair_id, _tag, raw in node.closes:
            if pair_id in dropped or open_pairs[-1][0] != pair_id:
                open_pairs[-1][1].append(_Text(raw))
            else:
                open_pairs.pop()
        if node.count:
            open_pairs[-1][1].append(_Text(node.char * node.count))
        for pair_id, tag, raw in reversed(node.opens):
            if len(open_pairs) > _MAX_EMPHASIS_DEPTH:
                dropped.add(pair_id)
                open_pairs[-1][1].append(_Text(raw))
                continue
            element = _Elem(tag, [])
            open_pairs[-1][1].append(element)
            open_pairs.append((pair_id, element.children))
    _merge_all(root)
    return root


def _merge_all(nodes: list[_Node]) -> None:
    nodes[:] = _merge_text(nodes)
    for node in nodes:
        if isinstance(node, _Elem):
            _merge_all(node.children)


def _merge_text(nodes: list[_Node]) -> list[_Node]:
    merged: list[_Node] = []
    for node in nodes:
        if isinstance(node, _Text):
            if not node.text:
                continue
            if merged and isinstance(merged[-1], _Text):
                merged[-1] = _Text(merged[-1].text + node.text)
                continue
        merged.append(node)
    return merged


def _inline_html(nodes: list[_Node], in_link: bool = False) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(escape_html(node.text))
        elif isinstance(node, _Code):
            # Telegram: links and code cannot contain each other; inside a link the code
            # span loses its monospace but keeps its text.
            text = escape_html(node.text)
            out.append(text if in_link else f"<code>{text}</code>")
        elif isinstance(node, _Elem):
            inner = _inline_html(node.children, in_link or node.tag == "a")
            if node.tag == "a" and node.href is not None:
                out.append(f'<a href="{_escape_attr(node.href)}">{inner}</a>')
            elif node.tag:
                out.append(f"<{node.tag}>{inner}</{node.tag}>")
            else:
                out.append(inner)
        else:  # a stray _Delim cannot survive _process_emphasis; stay literal if it does
            out.append(escape_html(node.char * node.count))
    return "".join(out)


def _inline_plain(nodes: list[_Node]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text | _Code):
            out.append(node.text)
        elif isinstance(node, _Elem):
            label = _inline_plain(node.children)
            if node.tag == "a" and node.href and label.strip() != node.href:
                out.append(f"{label} ({node.href})")
            elif node.tag == "a" and node.href:
                out.append(node.href)
            else:
                out.append(label)
        else:
            out.append(node.char * node.count)
    return "".join(out)


# ---------------------------------------------------------------------------- blocks

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(.*)$")
_ORDERED = re.compile(r"^([ \t]*)(\d{1,9}[.)])[ \t]+(.*)$")
_QUOTE = re.compile(r"^ {0,3}>")
_QUOTE_PREFIX = re.compile(r"^(?: {0,3}> ?)+")
_LANGUAGE = re.compile(r"[A-Za-z0-9_+#.-]{1,32}")
_RULE_TEXT = "———"


@dataclass(slots=True)
class _Block:
    kind: str  # para | heading | bullet | ordered | rule | blank | code | quote
    inline: list[_Node] = field(default_factory=list)
    prefix: str = ""  # indentation and list marker to print before the inline text
    text: str = ""  # code block body
    language: str = ""
    children: list[_Block] = field(default_factory=list)


def _parse_blocks(markdown: str, in_quote: bool = False) -> list[_Block]:
    lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[_Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = None if in_quote else _FENCE.match(line)
        if fence is not None:
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines):
                stripped = lines[i].strip()
                if stripped.startswith(marker) and stripped == marker[0] * len(stripped):
                    i += 1
                    break
                body.append(lines[i])
                i += 1
            # An unclosed fence runs to the end of the text (as in CommonMark).
            language = fence.group(2)
            blocks.append(
                _Block(
                    "code",
                    text="\n".join(body),
                    language=language if _LANGUAGE.fullmatch(language) else "",
                )
            )
            continue
        if not in_quote and _QUOTE.match(line):
            quoted: list[str] = []
            while i < len(lines) and _QUOTE.match(lines[i]):
                # Telegram cannot nest blockquotes, so ">>" flattens into one quote.
                quoted.append(_QUOTE_PREFIX.sub("", lines[i], count=1))
                i += 1
            blocks.append(_Block("quote", children=_parse_blocks("\n".join(quoted), True)))
            continue
        if not line.strip():
            blocks.append(_Block("blank"))
            i += 1
            continue
        if _RULE.match(line):
            blocks.append(_Block("rule"))
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading is not None:
            blocks.append(_Block("heading", _parse_inline(heading.group(1))))
            i += 1
            continue
        bullet = _BULLET.match(line)
        if bullet is not None:
            blocks.append(_Block("bullet", _parse_inline(bullet.group(2)), bullet.group(1)))
            i += 1
            continue
        ordered = _ORDERED.match(line)
        if ordered is not None:
            prefix = f"{ordered.group(1)}{ordered.group(2)} "
            blocks.append(_Block("ordered", _parse_inline(ordered.group(3)), prefix))
            i += 1
            continue
        # A paragraph: consecutive ordinary lines, parsed together so that emphasis may
        # span a soft line break, as in CommonMark.
        paragraph = [line]
        i += 1
        while i < len(lines) and not _starts_block(lines[i], in_quote):
            paragraph.append(lines[i])
            i += 1
        blocks.append(_Block("para", _parse_inline("\n".join(paragraph))))
    return blocks


def _starts_block(line: str, in_quote: bool) -> bool:
    if not line.strip():
        return True
    if not in_quote and (_FENCE.match(line) or _QUOTE.match(line)):
        return True
    return any(p.match(line) for p in (_RULE, _HEADING, _BULLET, _ORDERED))


def _blocks_html(blocks: list[_Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind == "blank":
            lines.append("")
        elif block.kind == "rule":
            lines.append(_RULE_TEXT)
        elif block.kind == "code":
            body = escape_html(block.text)
            if block.language:
                lines.append(f'<pre><code class="language-{block.language}">{body}</code></pre>')
            else:
                lines.append(f"<pre>{body}</pre>")
        elif block.kind == "quote":
            lines.append(f"<blockquote>{_blocks_html(block.children)}</blockquote>")
        elif block.kind == "heading":
            lines.append(f"<b>{_inline_html(block.inline)}</b>")
        elif block.kind == "bullet":
            lines.append(f"{block.prefix}• {_inline_html(block.inline)}")
        elif block.kind == "ordered":
            lines.append(f"{escape_html(block.prefix)}{_inline_html(block.inline)}")
        else:
            lines.append(_inline_html(block.inline))
    return "\n".join(lines)


def _blocks_plain(blocks: list[_Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind == "blank":
            lines.append("")
        elif block.kind == "rule":
            lines.append(_RULE_TEXT)
        elif block.kind == "code":
            lines.append(block.text)
        elif block.kind == "quote":
            lines.append(_blocks_plain(block.children))
        elif block.kind == "bullet":
            lines.append(f"{block.prefix}• {_inline_plain(block.inline)}")
        elif block.kind == "ordered":
            lines.append(f"{block.prefix}{_inline_plain(block.inline)}")
        else:
            lines.append(_inline_plain(block.inline))
    return "\n".join(lines)


def markdown_to_telegram_html(md: str) -> str:
    """Telegram HTML for `md`: balanced, escaped, only tags Telegram accepts."""
    return _blocks_html(_parse_blocks(md)).strip()


def markdown_to_plain(md: str) -> str:
    """The same text without markup: the fallback for Telegram, and for Instagram."""
    return _blocks_plain(_parse_blocks(md)).strip()


# ------------------------------------------------------------------------- splitting


def split_markdown(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Cut Markdown into sources that each render within `limit` visible characters.

    Rendering never makes text longer than its source (markup is dropped, "- " becomes
    "• ", a link shows its label, or in plain text "label (url)" which is one character
    shorter than "[label](url)"), so measuring the source is safe. Fenced code blocks are
    kept whole when they fit, and otherwise cut between lines with the fence repeated on
    each part, so no part ends inside an open code block.
    """
    units: list[str] = []
    for kind, text in _segments(md):
        if kind == "code":
            units.extend(_split_fence(text, limit))
        else:
            units.extend(split_plain(text, limit, utf16_len))
    return _pack(units, limit)


def _segments(md: str) -> list[tuple[str, str]]:
    """The Markdown as alternating ("text", ...) and ("code", <a whole fenced block>)."""
    lines = md.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    segments: list[tuple[str, str]] = []
    text: list[str] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            text.append(lines[i])
            i += 1
            continue
        if text:
            segments.append(("text", "\n".join(text)))
            text = []
        marker, block = fence.group(1), [lines[i]]
        i += 1
        while i < len(lines):
            block.append(lines[i])
            stripped = lines[i].strip()
            i += 1
            if stripped.startswith(marker) and stripped == marker[0] * len(stripped):
                break
        else:
            block.append(marker)  # close an unclosed fence so each part is whole
        segments.append(("code", "\n".join(block)))
    if text:
        segments.append(("text", "\n".join(text)))
    return segments


def _split_fence(block: str, limit: int) -> list[str]:
    if utf16_len(block) <= limit:
        return [block]
    lines = block.split("\n")
    opening, closing, body = lines[0], lines[-1], lines[1:-1]
    budget = max(1, limit - utf16_len(opening) - utf16_len(closing) - 2)
    parts: list[str] = []
    current: list[str] = []
    size = 0
    # Code is cut between lines only (never re-flowed: indentation matters), and a line
    # longer than the whole budget is cut hard.
    for line in body:
        pieces = [line] if utf16_len(line) <= budget else _hard_pieces(line, budget)
        for piece in pieces:
            extra = utf16_len(piece) + (1 if current else 0)
            if current and size + extra > budget:
                parts.append("\n".join([opening, *current, closing]))
                current, size = [], 0
                extra = utf16_len(piece)
            current.append(piece)
            size += extra
    if current:
        parts.append("\n".join([opening, *current, closing]))
    return parts


def _hard_pieces(line: str, budget: int) -> list[str]:
    pieces: list[str] = []
    while line:
        cut = min(len(line), budget)
        while cut > 1 and utf16_len(line[:cut]) > budget:
            cut -= 1
        pieces.append(line[:cut])
        line = line[cut:]
    return pieces


def _pack(units: list[str], limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}\n\n{unit}" if current else unit
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            if current:
                parts.append(current)
            current = unit
    if current:
        parts.append(current)
    return parts


def render_parts(md: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[tuple[str, str]]:
    """The answer as Telegram messages: for each part (html, plain fallback).

    Each part is rendered from its own slice of the source, so each is balanced by
    construction; plain is what to send (without parse_mode) if Telegram answers
    "can't parse entities" for the HTML.
    """
    parts: list[tuple[str, str]] = []
    for source in split_markdown(md, limit):
        html_text = markdown_to_telegram_html(source)
        plain = markdown_to_plain(source)
        if not plain.strip():
            continue
        if utf16_len(plain) <= limit:
            parts.append((html_text, plain))
        else:  # not reachable by the length argument above; a cheap guard all the same
            parts.extend((escape_html(p), p) for p in split_plain(plain, limit, utf16_len))
    return parts

