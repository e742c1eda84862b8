"""Parse incoming WeChat / WeCom XML messages and render passive replies.

Pure functions, no I/O. Message formats:

* receiving messages: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
* events: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
* passive replies: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html
* encrypted envelope: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html

Parsing goes through ``defusedxml`` with DTDs, entities and external entities
forbidden. Rendering wraps every text in CDATA and splits ``]]>`` across two
CDATA sections, which wechatpy's reply templates do not do.
"""

from __future__ import annotations

import re

import defusedxml.ElementTree as SafeET

__all__ = [
    "BadXml",
    "cdata",
    "parse_message",
    "render_encrypted_envelope",
    "render_text_reply",
    "strip_control_chars",
]

# C0 controls except \t \n \r, DEL, UTF-16 surrogates and the non-characters
# U+FFFE/U+FFFF: everything outside XML 1.0's Char production
# (https://www.w3.org/TR/xml/#charsets) plus DEL.
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}\Z")


class BadXml(ValueError):
    """The XML is malformed, not rooted at ``<xml>``, or refused by defusedxml."""


def strip_control_chars(raw: bytes | str) -> str:
    """Return ``raw`` as ``str`` without characters that XML 1.0 forbids.

    Removes C0 controls except TAB, LF and CR, DEL (U+007F), lone surrogates
    and U+FFFE/U+FFFF. ``bytes`` are decoded as UTF-8 (a leading BOM dropped,
    invalid sequences become U+FFFD): both platforms send UTF-8. Never raises
    for ``bytes``/``str``; ``TypeError`` for anything else.
    """
    if isinstance(raw, (bytes, bytearray, memoryview)):
        text = bytes(raw).decode("utf-8-sig", errors="replace")
    elif isinstance(raw, str):
        text = raw
    else:
        raise TypeError(f"expected bytes or str, got {type(raw).__name__}")
    return _ILLEGAL_XML_CHARS.sub("", text)


def parse_message(xml_text: bytes | str) -> dict[str, str]:
    """Parse a message body into ``{child tag: text}`` for the children of ``<xml>``.

    Typical keys: ToUserName, FromUserName, CreateTime, MsgType, Content,
    MsgId, Event, EventKey, Recognition, Encrypt. Values are the element text
    exactly as sent (CDATA unwrapped, whitespace kept), ``""`` for empty
    elements and for elements that have children of their own (e.g.
    ``ScanCodeInfo``); attributes are ignored; for repeated tags the first wins.

    ``bytes`` are always read as UTF-8 (both platforms send UTF-8), whatever an
    XML declaration says. Control characters are stripped first
    (:func:`strip_control_chars`).
    Raises :class:`BadXml`, and nothing else, for malformed XML, a root other
    than ``xml``, any DTD (so entity bombs and external entities), or anything
    else defusedxml refuses.
    """
    try:
        text = strip_control_chars(xml_text)
    except TypeError as exc:
        raise BadXml(str(exc)) from None
    text = text.lstrip("\ufeff")
    try:
        root = SafeET.fromstring(
            text, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except Exception as exc:  # ParseError, DefusedXmlException, LookupError, ...
        raise BadXml(f"{type(exc).__name__}: {exc}") from None
    if root.tag != "xml":
        raise BadXml(f"root element must be <xml>, got <{root.tag}>")
    fields: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str) or child.tag in fields:
            continue
        fields[child.tag] = "" if len(child) else (child.text or "")
    return fields


def cdata(text: str) -> str:
    """Wrap ``text`` in a CDATA section that parses back to exactly ``text``.

    Characters illegal in XML 1.0 are removed first (:func:`strip_control_chars`)
    and CR LF / lone CR become LF, as any XML parser would do on reading
    (https://www.w3.org/TR/xml/#sec-line-ends); every ``]]>`` is split as
    ``]]]]><![CDATA[>`` so it cannot close the section
    (https://www.w3.org/TR/xml/#sec-cdata-sect). So a parser reads back exactly
    the cleaned text. Raises ``TypeError`` if ``text`` is not ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"cdata text must be str, got {type(text).__name__}")
    clean = strip_control_chars(text).replace("\r\n", "\n").replace("\r", "\n")
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _timestamp_text(value: int | str, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"{name} must be int or str of digits")
    text = str(value)
    if not _TIMESTAMP_RE.match(text):
        raise ValueError(f"{name} must be 1-12 ASCII digits (Unix seconds), got {text!r}")
    return text


def render_text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """Render the passive reply XML for ``MsgType`` text.

    ``to_user`` is the user's OpenID (the incoming FromUserName), ``from_user``
    the account's id (the incoming ToUserName), ``create_time`` Unix seconds.
    Layout from the 被动回复用户消息 doc. Content byte limits are the caller's
    job (:func:`qa.sentences.utf8_truncate_at_sentence`). Raises ``TypeError``/``ValueError``
    for a non-integer ``create_time``.
    """
    if isinstance(create_time, bool) or not isinstance(create_time, int):
        raise TypeError("create_time must be int (Unix seconds)")
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{_timestamp_text(create_time, 'create_time')}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def render_encrypted_envelope(
    encrypt_b64: str, signature: str, timestamp: int | str, nonce: str
) -> str:
    """Render the encrypted reply envelope (Encrypt, MsgSignature, TimeStamp, Nonce).

    Layout from 消息加解密说明 / WXBizMsgCrypt ``EncryptMsg``: TimeStamp is a
    bare number, the other three are CDATA. ``signature`` comes from
    ``MessageCrypto.encrypt`` with the same ``timestamp`` and ``nonce``.
    Raises ``TypeError``/``ValueError`` when ``timestamp`` is not 1-12 digits.
    """
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypt_b64)}</Encrypt>"
        f"<MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{_timestamp_text(timestamp, 'timestamp')}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )
