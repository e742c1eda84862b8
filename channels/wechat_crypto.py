"""Signatures and message encryption for WeChat Official Accounts and WeCom.

A pure re-implementation of Tencent's WXBizMsgCrypt sample (no HTTP, no I/O, no
``os.environ``). The rules come from:

* Official Account, "消息加解密说明":
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
* WeCom, "加解密方案说明":
  https://developer.work.weixin.qq.com/document/path/90968

Both platforms use the same scheme; for WeCom the "app id" checked after the
message is the receive id (the CorpID for a self-built application), so
:class:`MessageCrypto` serves both.

Where to use which signature:

* ``plain_signature``: Official Account URL verification (GET ``signature``)
  and the ``signature`` query parameter of every Official Account POST, in
  plaintext, compatible and safe mode alike.
* ``msg_signature``: the ``msg_signature`` query parameter of encrypted POSTs
  (Official Account safe/compatible mode) and of every WeCom callback,
  including WeCom URL verification (where ``encrypt`` is the ``echostr``),
  and the ``MsgSignature`` of an encrypted reply.

Unlike wechatpy (``wechatpy/crypto/__init__.py``), signatures are compared in
constant time, the PKCS#7 padding and the length field are bounds-checked,
and every decryption failure raises a :class:`WeChatCryptoError` subclass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from qa.errors import ConfigError

__all__ = [
    "AppIdMismatch", "DecryptError", "InvalidSignature", "MessageCrypto",
    "WeChatCryptoError", "check_timestamp", "msg_signature", "plain_signature", "signatures_equal",
]

#: PKCS#7 block size used by WXBizMsgCrypt: 32 bytes, not the AES block size
#: of 16 (PKCS7Encoder.block_size = 32 in every Tencent sample).
PAD_BLOCK = 32
#: Length of an EncodingAESKey, in characters (both platforms' docs).
ENCODING_AES_KEY_LENGTH = 43
#: Bytes of random prefix before the length field (both platforms' docs).
RANDOM_PREFIX_BYTES = 16

_B64_KEY_RE = re.compile(r"[A-Za-z0-9+/]{43}\Z")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}\Z")


class WeChatCryptoError(Exception):
    """Base class of every error raised while verifying or decrypting a message."""


class InvalidSignature(WeChatCryptoError):
    """The signature does not match (Tencent error code -40001)."""


class DecryptError(WeChatCryptoError):
    """Bad base64, ciphertext length, padding, length field or UTF-8 (-40007/-40008/-40010)."""


class AppIdMismatch(WeChatCryptoError):
    """The app id / receive id after the message is not ours (-40005)."""


def _sha1_sorted(*parts: object) -> str:
    """SHA-1 hex (40 lowercase chars) of the sorted concatenation of ``parts``.

    Sorting is plain string order, as in the samples' ``sort()`` /
    ``Arrays.sort``; ``int`` parts (timestamps) are converted with ``str``.
    Raises ``TypeError`` for any other type.
    """
    strings = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, (str, int)):
            raise TypeError(f"signature parts must be str, got {type(part).__name__}")
        strings.append(str(part))
    strings.sort()
    joined = "".join(strings).encode("utf-8", "surrogatepass")
    return hashlib.sha1(joined).hexdigest()


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    """Signature of URL verification and plaintext-mode POSTs.

    ``sha1("".join(sorted([token, timestamp, nonce])))`` as 40 lowercase hex
    chars (Official Account 接入指南 / 消息加解密说明). Raises ``TypeError``
    when a part is neither ``str`` nor ``int``.
    """
    return _sha1_sorted(token, timestamp, nonce)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Signature of encrypted messages: SHA-1 over the four strings, sorted.

    ``encrypt`` is the base64 ``Encrypt`` element (or WeCom's ``echostr``).
    Returns 40 lowercase hex chars (消息加解密说明; WeCom path/90968,
    "消息体签名"). Raises ``TypeError`` when a part is neither ``str`` nor ``int``.
    """
    return _sha1_sorted(token, timestamp, nonce, encrypt)


def signatures_equal(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two signatures; never raises.

    Returns False when either value is not a ``str`` or is empty. Non-ASCII
    strings are compared as UTF-8 bytes (``hmac.compare_digest`` rejects
    non-ASCII ``str``). Case-sensitive, as in the Tencent samples.
    """
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
        return False
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def check_timestamp(timestamp: str, now: float, *, max_skew: float = 300) -> bool:
    """True when ``timestamp`` is within ``max_skew`` seconds of ``now``, either side.

    ``timestamp`` is the query parameter: Unix time in whole seconds, 1-12
    ASCII digits (anything else, including signs, spaces and full-width
    digits, gives False). ``now`` is Unix time in seconds (``time.time()``).
    Tencent documents no window; 300 s is this project's replay guard, not a
    platform rule. Never raises.
    """
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not isinstance(timestamp, str) or not _TIMESTAMP_RE.match(timestamp):
        return False
    try:
        return abs(int(timestamp) - float(now)) <= max_skew
    except (TypeError, ValueError, OverflowError):
        return False


class MessageCrypto:
    """WXBizMsgCrypt equivalent: AES-256-CBC message encryption for one account.

    Arguments:
        token: the Token configured on the platform (non-empty str).
        encoding_aes_key: the 43-char EncodingAESKey; the AES key is
            ``base64decode(key + "=")`` (32 bytes) and the IV its first 16 bytes.
            Only the length and the base64 alphabet are checked: Tencent's keys
            need not be canonical base64 (the unused low bits may be set).
        app_id: the Official Account AppID, or for WeCom the receive id
            (CorpID of a self-built app, SuiteID for third-party suites).

    The ``*_setting`` keywords are the environment variable names quoted in
    :class:`ConfigError` messages. Raises ``ConfigError`` on invalid arguments.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        app_id: str,
        *,
        token_setting: str = "WECHAT_TOKEN",
        key_setting: str = "WECHAT_ENCODING_AES_KEY",
        app_id_setting: str = "WECHAT_APP_ID",
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigError(token_setting, "the token must be a non-empty string")
        if not isinstance(app_id, str) or not app_id:
            raise ConfigError(app_id_setting, "the app id / receive id must be a non-empty string")
        if not isinstance(encoding_aes_key, str) or not _B64_KEY_RE.match(encoding_aes_key):
            length = len(encoding_aes_key) if isinstance(encoding_aes_key, str) else "no"
            raise ConfigError(
                key_setting,
                f"the EncodingAESKey must be exactly {ENCODING_AES_KEY_LENGTH} characters "
                f"of [A-Za-z0-9+/] (got {length} characters)",
            )
        key = base64.b64decode(encoding_aes_key + "=", validate=True)  # 32 bytes, by the regex
        self.token = token
        self.app_id = app_id
        self._app_id_bytes = app_id.encode("utf-8")
        self._key = key
        self._iv = key[:16]

    def __repr__(self) -> str:
        return f"MessageCrypto(app_id={self.app_id!r})"  # never show the token or key

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

    def encrypt(
        self,
        plaintext: str,
        *,
        nonce: str,
        timestamp: str,
        random16: bytes | None = None,
    ) -> tuple[str, str]:
        """Encrypt a reply; returns ``(encrypt_b64, signature)``.

        Layout (消息加解密说明): ``random(16) + htonl(len(msg)) + msg + app_id``,
        PKCS#7-padded to a multiple of 32 bytes, AES-256-CBC, base64.
        ``msg`` is ``plaintext`` in UTF-8; its length is counted in bytes.
        ``random16`` defaults to ``os.urandom(16)``; pass it only for
        known-answer tests. ``signature`` is :func:`msg_signature` over
        (token, timestamp, nonce, encrypt_b64), for the reply's
        ``MsgSignature``. Raises ``TypeError``/``ValueError`` on bad arguments.
        """
        if not isinstance(plaintext, str):
            raise TypeError("plaintext must be str")
        if random16 is None:
            random16 = os.urandom(RANDOM_PREFIX_BYTES)
        if not isinstance(random16, bytes) or len(random16) != RANDOM_PREFIX_BYTES:
            raise ValueError("random16 must be exactly 16 bytes")
        msg = plaintext.encode("utf-8")
        if len(msg) > 0xFFFFFFFF:
            raise ValueError("plaintext too long for the 4-byte length field")
        body = random16 + struct.pack(">I", len(msg)) + msg + self._app_id_bytes
        pad = PAD_BLOCK - len(body) % PAD_BLOCK
        body += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        ciphertext = encryptor.update(body) + encryptor.finalize()
        encrypt_b64 = base64.b64encode(ciphertext).decode("ascii")
        return encrypt_b64, _sha1_sorted(self.token, timestamp, nonce, encrypt_b64)

    def decrypt(
        self, encrypt_b64: str, *, msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """Verify and decrypt an ``Encrypt`` value (or WeCom ``echostr``); returns the message.

        Steps (消息加解密说明; WeCom path/90968): verify ``msg_signature`` in
        constant time; base64-decode strictly; AES-256-CBC decrypt; check the
        PKCS#7 padding (1..32, all pad bytes equal); drop the 16 random bytes;
        read the 4-byte network-order length and check it fits; check the
        trailing app id / receive id equals ours; decode the message as UTF-8.

        The signature is checked before any decryption, so without the token an
        attacker never reaches the padding check (no padding oracle).
        Timestamps are not checked here: see :func:`check_timestamp`.

        Raises only :class:`InvalidSignature`, :class:`DecryptError` or
        :class:`AppIdMismatch` (all :class:`WeChatCryptoError`), whatever the input.
        """
        try:
            expected = _sha1_sorted(self.token, timestamp, nonce, encrypt_b64)
        except TypeError:
            raise InvalidSignature("signature inputs must be strings") from None
        if not signatures_equal(expected, msg_signature):
            raise InvalidSignature("msg_signature does not match")
        if not isinstance(encrypt_b64, str):
            raise DecryptError("Encrypt must be a base64 string")
        try:
            ciphertext = base64.b64decode(encrypt_b64, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("Encrypt is not valid base64") from None
        if len(ciphertext) < PAD_BLOCK or len(ciphertext) % 16:
            raise DecryptError("ciphertext shorter than 32 bytes or not a multiple of 16")
        try:
            decryptor = self._cipher().decryptor()
            plain = decryptor.update(ciphertext) + decryptor.finalize()
        except ValueError:  # pragma: no cover - lengths were checked above
            raise DecryptError("AES decryption failed") from None
        pad = plain[-1]
        if not 1 <= pad <= PAD_BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad PKCS#7 padding")
        content = plain[RANDOM_PREFIX_BYTES:-pad]
        if len(content) < 4:
            raise DecryptError("message too short for the length field")
        (msg_len,) = struct.unpack(">I", content[:4])
        if msg_len > len(content) - 4:
            raise DecryptError("length field exceeds the decrypted data")
        msg = content[4 : 4 + msg_len]
        receive_id = content[4 + msg_len :]
        if not hmac.compare_digest(receive_id, self._app_id_bytes):
            raise AppIdMismatch("the message is addressed to another app id / receive id")
        try:
            return msg.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError("message is not valid UTF-8") from None
