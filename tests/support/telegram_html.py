"""Telegram's text formatting rules, re-implemented for tests.

This is the validator behind the fake Bot API (``fake_bot_api.py``): it turns the ``text`` /
``parse_mode`` / ``entities`` triple of ``sendMessage`` into what Telegram would store, i.e. the
visible text plus a list of MessageEntity dicts, or rejects it the way Telegram does.

Sources of the rules:

* Bot API docs, "Formatting options" -> "HTML style"
  (https://core.telegram.org/bots/api#formatting-options): the supported tags (b/strong, i/em,
  u/ins, s/strike/del, span class="tg-spoiler", tg-spoiler, a href, tg-emoji emoji-id,
  tg-time unix/format, code, pre, blockquote [expandable]); only the named entities
  &lt; &gt; &amp; &quot; plus all numerical entities; "<, > and & that are not part of a tag or an
  entity must be replaced with the corresponding HTML entities"; pre + code class="language-x" for
  a language; date-time format must match ``r|w?[dD]?[tT]?``.
* TDLib's ``parse_html`` (td/telegram/MessageEntity.cpp) as pinned by its test cases
  (test/message_entities.cpp, ``check_parse_html``): error wording and byte offsets ("Unsupported
  start tag \"x\" at byte offset N", "Unclosed start tag", "Unmatched end tag ... expected \"</i>\",
  found \"</em>\"", "Can't find end tag corresponding to start tag \"b\"", "Unexpected end tag",
  "Unclosed end tag", "Empty attribute name ..."), ``</>`` closing any tag, unquoted attribute
  values, empty tags producing no entity, ``<a>`` without href using its text as the URL, pre/code
  language merging, and the entity sort order (offset asc, length desc, then TDLib's type priority).
* MessageEntity docs (https://core.telegram.org/bots/api#messageentity): offsets and lengths are
  in UTF-16 code units.

Deliberate deviation (``strict=True``, the default): real Telegram shows an unknown named entity
such as ``&nbsp;``, a bare ``&``, an entity without ``;`` and a bare ``>`` literally (TDLib test:
``&ge;&laquo;`` -> ``&ge;&laquo;``). The docs forbid all of them, and they always mean the bot
forgot to escape something, so strict mode rejects them with a "can't parse entities" style
error whose text says it is the fake's strict rule. ``strict=False`` gives TDLib's lenient
behaviour.

Not emulated: Markdown / MarkdownV2 parsing (text is passed through without entities), TDLib's
entity-nesting repairs, and auto-detection of anything but bot commands, @mentions and
http(s) URLs.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FormattedText",
    "TelegramHtmlError",
    "UnsupportedParseMode",
    "detect_entities",
    "format_text",
    "parse_html",
    "sort_entities",
    "telegram_html_to_text",
    "utf16_len",
]

# Characters Python's str.strip() would remove that Telegram also trims (approximation of TDLib's
# fix_formatted_text, which trims surrounding whitespace and newlines).
_TRIM_CHARS = " \t\r\n"

_STRICT_NOTE = " [strict rule of the fake Bot API: Telegram would show it literally; escape it]"

# TDLib's MessageEntity priority, used as the tie-breaker when sorting (lower sorts first).
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
    "text_mention": 49, "mention": 50, "hashtag": 50, "cashtag": 50, "bot_command": 50,
    "url": 50, "email": 50, "phone_number": 50, "bank_card_number": 50, "date_time": 50,
    "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94,
    "custom_emoji": 99,
}

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
}
_SUPPORTED_TAGS = set(_SIMPLE_TAGS) | {"a", "code", "pre", "blockquote", "tg-emoji", "tg-time"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_URL_SCHEMES = {"http", "https", "ftp", "tg", "ton"}
_DATE_FORMAT_RE = re.compile(r"r|w?[dD]?[tT]?")


class TelegramHtmlError(ValueError):
    """The text would be rejected by Telegram.

    ``description`` is the part Telegram puts after "Bad Request: can't parse entities: ".
    """

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class UnsupportedParseMode(ValueError):
    """parse_mode is not one of HTML / Markdown / MarkdownV2 (case-insensitive)."""


@dataclass
class FormattedText:
    """Visible text plus MessageEntity dicts (offset/length in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram offset, length and size limit."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def sort_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order entities like TDLib: offset asc, length desc, then type priority."""
    return sorted(
        entities, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50))
    )


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(src: str, i: int) -> tuple[str | None, int, bool]:
    """Decode the HTML entity starting at ``src[i] == '&'`` the way TDLib does.

    Returns (decoded char or None, index after the entity, whether a ';' terminated it).
    """
    n = len(src)
    j = i + 1
    if j < n and src[j] == "#":
        j += 1
        hexa = j < n and src[j] in "xX"
        if hexa:
            j += 1
        start = j
        digits = "0123456789abcdefABCDEF" if hexa else "0123456789"
        while j < n and src[j] in digits:
            j += 1
        if j == start:
            return None, i, False
        code = int(src[start:j], 16 if hexa else 10)
        if code == 0 or code > 0x10FFFF:
            return None, i, False
        if 0xD800 <= code <= 0xDFFF:
            raise TelegramHtmlError(
                "Text contains invalid Unicode characters after decoding HTML entities, check "
                "for unmatched surrogate code units"
            )
        char = chr(code)
    else:
        start = j
        while j < n and src[j].isascii() and src[j].isalpha():
            j += 1
        char = _NAMED_ENTITIES.get(src[start:j])
        if char is None:
            return None, i, False
    if j < n and src[j] == ";":
        return char, j + 1, True
    return char, j, False


def _normalize_url(url: str) -> str | None:
    """Approximation of TDLib's check_url: None if Telegram would drop the link."""
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not re.match(r"(?i)(tg|ton):", url):
        url = "http://" + url
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _URL_SCHEMES:
        return None
    if scheme in {"tg", "ton"}:
        return url
    if not parts.hostname or not re.fullmatch(r"[\w.-]+", parts.hostname):
        return None
    rebuilt = f"{scheme}://{parts.netloc.lower()}{parts.path or '/'}"
    if parts.query:
        rebuilt += "?" + parts.query
    if parts.fragment:
        rebuilt += "#" + parts.fragment
    return rebuilt


def _read_attributes(src: str, i: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse ``name="v" name='v' name=v name`` up to '>'; returns (attrs, index of '>')."""
    n = len(src)
    attrs: dict[str, str] = {}
    while True:
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            raise TelegramHtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if src[i] == ">":
            return attrs, i
        name_start = i
        while i < n and not src[i].isspace() and src[i] not in "=>":
            i += 1
        name = src[name_start:i].lower()
        if not name:
            raise TelegramHtmlError(
                f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
            )
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            raise TelegramHtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if src[i] != "=":
            attrs[name] = ""
            continue
        i += 1
        while i < n and src[i].isspace():
            i += 1
        if i >= n:
            raise TelegramHtmlError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if src[i] in "\"'":
            quote = src[i]
            end = src.find(quote, i + 1)
            if end < 0:
                raise TelegramHtmlError(f"Unclosed start tag at byte offset {begin}")
            raw_value, i = src[i + 1:end], end + 1
        else:
            token_start = i
            while i < n and not src[i].isspace() and src[i] != ">":
                i += 1
            if i >= n:
                raise TelegramHtmlError(
                    f"Unexpected end of name token at byte offset {_byte_offset(src, token_start)}"
                )
            raw_value = src[token_start:i]
        attrs[name] = _decode_attribute(raw_value)


def _decode_attribute(raw: str) -> str:
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "&":
            char, nxt, _ = _decode_entity(raw, i)
            if char is not None:
                out.append(char)
                i = nxt
                continue
        out.append(raw[i])
        i += 1
    return "".join(out)


def _open_tag_argument(tag: str, attrs: dict[str, str], begin: int) -> Any:
    """Validate a start tag's attributes; returns the tag's argument (url, language, ...)."""
    if tag == "a":
        return attrs.get("href", "")
    if tag == "code":
        cls = attrs.get("class", "")
        return cls[len("language-"):] if cls.startswith("language-") else ""
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise TelegramHtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
    if tag == "tg-emoji":
        emoji_id = attrs.get("emoji-id", "")
        if not emoji_id.isdigit():
            raise TelegramHtmlError("Invalid custom emoji identifier specified")
        return emoji_id
    if tag == "tg-time":
        unix, fmt = attrs.get("unix", ""), attrs.get("format", "")
        if not unix.lstrip("-").isdigit():
            raise TelegramHtmlError("Invalid Unix time specified")
        if not _DATE_FORMAT_RE.fullmatch(fmt):
            raise TelegramHtmlError("Invalid date format used")
        return (int(unix), fmt)
    if tag == "blockquote":
        return "expandable" in attrs
    return None


def _close_entity(tag: str, arg: Any, offset: int, length: int, visible: str,
                  entities: list[dict[str, Any]]) -> None:
    """Append the entity for a just-closed, non-empty tag (TDLib's end-tag branch)."""
    entity: dict[str, Any] = {"offset": offset, "length": length}
    last = entities[-1] if entities else None
    same_range = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_TAGS:
        entity["type"] = _SIMPLE_TAGS[tag]
    elif tag == "a":
        url = arg or visible
        match = re.fullmatch(r"(?i)tg://user\?id=(\d+)", url)
        if match:
            entity.update(type="text_mention",
                          user={"id": int(match.group(1)), "is_bot": False, "first_name": ""})
        else:
            normalized = _normalize_url(url)
            if normalized is None:
                return  # TDLib silently drops links it cannot use
            entity.update(type="text_link", url=normalized)
    elif tag == "pre":
        if same_range and last["type"] == "code" and last.get("_language"):
            last.update(type="pre", language=last.pop("_language"))
            return
        entity["type"] = "pre"
    elif tag == "code":
        if same_range and last["type"] == "pre" and arg and "language" not in last:
            last["language"] = arg
            return
        entity["type"] = "code"
        if arg:
            entity["_language"] = arg  # only kept if an enclosing <pre> claims it
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if arg else "blockquote"
    elif tag == "tg-emoji":
        entity.update(type="custom_emoji", custom_emoji_id=arg)
    elif tag == "tg-time":
        entity.update(type="date_time", unix_time=arg[0])
        if arg[1]:
            entity["date_time_format"] = arg[1]
    entities.append(entity)


def parse_html(html: str, *, strict: bool = True) -> FormattedText:
    """Parse Telegram-HTML into text + entities (no trimming; see :func:`format_text`).

    Raises TelegramHtmlError with TDLib's wording; byte offsets are UTF-8 offsets into ``html``.
    """
    out: list[str] = []
    pos16 = 0  # UTF-16 length of the text produced so far
    stack: list[tuple[str, Any, int, int]] = []  # (tag, argument, utf16 offset, len(out))
    entities: list[dict[str, Any]] = []
    n, i = len(html), 0
    while i < n:
        ch = html[i]
        if ch == "&":
            char, nxt, terminated = _decode_entity(html, i)
            if strict and (char is None or not terminated):
                token = re.match(r"&[#\w]*;?", html[i:]).group(0)
                what = (f'HTML entity "{token}" without terminating ";"' if char is not None
                        else f'Unsupported HTML entity "{token}"' if len(token) > 1
                        else 'Unescaped "&"')
                raise TelegramHtmlError(
                    f"{what} at byte offset {_byte_offset(html, i)}{_STRICT_NOTE}")
            if char is not None:
                out.append(char)
                pos16 += 2 if ord(char) > 0xFFFF else 1
                i = nxt
                continue
        if ch != "<":
            if strict and ch == ">":
                raise TelegramHtmlError(
                    f'Unescaped ">" at byte offset {_byte_offset(html, i)}{_STRICT_NOTE}')
            out.append(ch)
            pos16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        begin = _byte_offset(html, i)
        if i + 1 < n and html[i + 1] == "/":  # end tag
            if not stack:
                raise TelegramHtmlError(f"Unexpected end tag at byte offset {begin}")
            j = i + 2
            while j < n and not html[j].isspace() and html[j] != ">":
                j += 1
            end_name = html[i + 2:j].lower()
            while j < n and html[j].isspace():
                j += 1
            if j >= n or html[j] != ">":
                raise TelegramHtmlError(f"Unclosed end tag at byte offset {begin}")
            tag, arg, offset, out_len = stack.pop()
            if end_name and end_name != tag:
                raise TelegramHtmlError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                    f'found "</{end_name}>"')
            if pos16 > offset:
                _close_entity(tag, arg, offset, pos16 - offset, "".join(out[out_len:]), entities)
            i = j + 1
            continue
        j = i + 1  # start tag
        while j < n and not html[j].isspace() and html[j] != ">":
            j += 1
        if j >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {begin}")
        tag = html[i + 1:j].lower()
        if tag not in _SUPPORTED_TAGS:
            raise TelegramHtmlError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        attrs, j = _read_attributes(html, j, tag, begin)
        stack.append((tag, _open_tag_argument(tag, attrs, begin), pos16, len(out)))
        i = j + 1
    if stack:
        raise TelegramHtmlError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    return FormattedText("".join(out), sort_entities(entities))


# --- automatic entities -------------------------------------------------------------------------
# Approximations of TDLib's find_bot_commands / find_mentions / find_urls: a command or mention
# must not follow a word character (CJK counts as one, as in TDLib's is_word_character).
_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_])")
_URL_RE = re.compile(r"(?<![\w@/.])https?://[!-~]+", re.IGNORECASE)


def detect_entities(text: str) -> list[dict[str, Any]]:
    """bot_command, mention and url entities Telegram would attach to ``text`` (UTF-16)."""
    found: list[tuple[int, int, str]] = []
    for regex, kind in ((_COMMAND_RE, "bot_command"), (_MENTION_RE, "mention"),
                        (_URL_RE, "url")):
        for match in regex.finditer(text):
            start, end = match.span()
            if kind == "url":
                end = start + len(match.group(0).rstrip(".,;:!?)]}'\""))
            found.append((start, end, kind))
    found.sort()
    result, last_end = [], -1
    for start, end, kind in found:
        if start >= last_end:  # drop overlaps (e.g. a URL containing "/path")
            result.append({"offset": utf16_len(text[:start]),
                           "length": utf16_len(text[start:end]), "type": kind})
            last_end = end
    return result


_NON_FORMATTING = {"code", "pre", "text_link", "text_mention", "custom_emoji", "date_time",
                   "url", "mention", "bot_command"}


def _trim(parsed: FormattedText) -> FormattedText:
    """Strip surrounding whitespace and clip entities, as Telegram does for sent messages."""
    text = parsed.text
    lead = utf16_len(text[: len(text) - len(text.lstrip(_TRIM_CHARS))])
    stripped = text.strip(_TRIM_CHARS)
    size = utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, entities)


def format_text(text: str, parse_mode: str | None = None,
                entities: list[dict[str, Any]] | None = None, *, strict: bool = True,
                detect: bool = True) -> FormattedText:
    """What Telegram stores for ``text`` sent with ``parse_mode`` / ``entities``.

    parse_mode is case-insensitive (the Bot API lower-cases it); when it is set, ``entities`` is
    ignored. The result is trimmed and, if ``detect``, gains bot_command/mention/url entities that
    do not collide with code/pre/link entities. Raises TelegramHtmlError / UnsupportedParseMode.
    """
    mode = (parse_mode or "").lower()
    if mode == "html":
        parsed = parse_html(text, strict=strict)
    elif mode in {"", "none"}:
        parsed = FormattedText(text, [dict(e) for e in entities or []])
    elif mode in {"markdown", "markdownv2"}:
        parsed = FormattedText(text, [])  # not emulated: see module docstring
    else:
        raise UnsupportedParseMode(parse_mode)
    result = _trim(parsed)
    if detect:
        taken = [(e["offset"], e["offset"] + e["length"]) for e in result.entities
                 if e["type"] in _NON_FORMATTING]
        for auto in detect_entities(result.text):
            a_start, a_end = auto["offset"], auto["offset"] + auto["length"]
            if all(a_end <= s or a_start >= e for s, e in taken):
                result.entities.append(auto)
    result.entities = sort_entities(result.entities)
    return result


def telegram_html_to_text(html: str, *, strict: bool = True) -> str:
    """Visible text of a parse_mode=HTML message, exactly as the fake returns in Message.text.

    Raises TelegramHtmlError if Telegram (or strict mode) would reject ``html``.
    """
    return format_text(html, "HTML", strict=strict, detect=False).text
