"""Tests for channels.wechat_crypto: published known-answer vectors, failure modes, fuzzing."""

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.wechat_crypto import (
    AppIdMismatch,
    DecryptError,
    InvalidSignature,
    MessageCrypto,
    WeChatCryptoError,
    check_timestamp,
    msg_signature,
    plain_signature,
    signatures_equal,
)
from qa.errors import ConfigError

# --- Official Account vectors -------------------------------------------------------------
# Tencent's Python WXBizMsgCrypt sample for Official Accounts (Sample.py by jonyqin, 2014,
# shipped with 消息加解密说明), as copied in e.g. charlesXu86/Chatbot_CN
# Chatbot_Web/impl/weixin/Sample.py.
OA_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA_TOKEN = "spamtest"
OA_APP_ID = "wx2c2769f8efd9abc2"
OA_TIMESTAMP = "1409735669"
OA_NONCE = "1320562132"
OA_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
OA_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
OA_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)

# Tencent's Java sample test WXBizMsgCryptTest.testAesEncrypt / testAesEncrypt2 (fixed random
# prefix "aaaabbbbccccdddd"), as copied in e.g. Wyl015/wuyiling
# work-test/src/main/resources/Utils/aes/WXBizMsgCryptTest.java.
JAVA_TOKEN = "pamtest"
JAVA_APP_ID = "wxb11529c136998cb6"
JAVA_RANDOM = b"aaaabbbbccccdddd"
JAVA_REPLY_1 = "我是中文abcd123"
JAVA_CIPHER_1 = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)
JAVA_REPLY_2 = (
    "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName>"
    "<FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime>"
    "<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s"
    "79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title>"
    "<Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
)
JAVA_CIPHER_2 = (
    "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkup"
    "qcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvF"
    "b3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04s"
    "q7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9Oxch"
    "WVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ"
    "6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57c"
    "ExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)

# --- WeCom vectors ---------------------------------------------------------------------------
# WeCom's 加解密方案说明 (https://developer.work.weixin.qq.com/document/path/90968) and its
# WXBizMsgCrypt samples (C# Sample.cs, also in the PHP sample): URL verification and a callback.
WECOM_TOKEN = "QDG6eK"
WECOM_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
WECOM_CORP_ID = "wx5823bf96d3bd56c7"
WECOM_VERIFY = ("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780")
WECOM_ECHOSTR = (
    "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
)
WECOM_MSG = ("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149")
WECOM_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUp"
    "j911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue"
    "06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+"
    "3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH"
    "27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8"
    "R07+qN+E7Q=="
)
WECOM_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)

# wechatpy tests/test_crypto.py (WeCom "work"/"enterprise" crypto, random prefix mocked to
# "1234567890123456"): an encryption known answer including the MsgSignature.
WP_TOKEN = "123456"
WP_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
WP_CORP_ID = "wx49f0ab532d5d035a"
WP_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WP_CIPHER = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGs"
    "L8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSj"
    "PUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJv"
    "FurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFY"
    "FMNMpatF9XiKzHo3"
)
WP_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


def oa_crypto(app_id=OA_APP_ID):
    return MessageCrypto(OA_TOKEN, OA_KEY, app_id)


def raw_encrypt(encoding_aes_key, body):
    """AES-256-CBC over a hand-built body (already a multiple of 16 bytes), base64."""
    key = base64.b64decode(encoding_aes_key + "=")
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(body) + enc.finalize()).decode("ascii")


def signed_decrypt(crypto, encrypt_b64, timestamp="1409735669", nonce="n0nce"):
    """Decrypt with a correct signature, so the check under test is the one after it."""
    sig = msg_signature(crypto.token, timestamp, nonce, encrypt_b64)
    return crypto.decrypt(encrypt_b64, msg_signature=sig, timestamp=timestamp, nonce=nonce)


# --- signatures ------------------------------------------------------------------------------


def test_plain_signature_matches_wechatpy_vector():
    # wechatpy tests/test_utils.py::test_check_signature_should_ok
    assert plain_signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"


def test_plain_signature_sorts_its_parts():
    # wechatpy tests/test_utils.py::test_wechat_card_signer: sha1("123456789")
    expected = "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
    assert plain_signature("789", "456", "123") == expected
    assert plain_signature("123", "789", "456") == expected


def test_msg_signature_matches_published_vectors():
    assert msg_signature(OA_TOKEN, OA_TIMESTAMP, OA_NONCE, OA_ENCRYPT) == OA_MSG_SIGNATURE
    sig, ts, nonce = WECOM_VERIFY
    assert msg_signature(WECOM_TOKEN, ts, nonce, WECOM_ECHOSTR) == sig
    sig, ts, nonce = WECOM_MSG
    assert msg_signature(WECOM_TOKEN, ts, nonce, WECOM_ENCRYPT) == sig


@pytest.mark.parametrize(
    "a, b, expected",
    [("abc", "abc", True), ("abc", "abd", False), ("abc", "ABC", False), ("", "", False),
     (None, "abc", False), ("abc", None, False), (None, None, False), (123, "123", False),
     ("签名", "签名", True), ("签名", "abc", False), (b"abc", "abc", False)],
)
def test_signatures_equal_never_raises(a, b, expected):
    assert signatures_equal(a, b) is expected


@pytest.mark.parametrize(
    "timestamp, expected",
    [("1409735669", True), ("1409735969", True), ("1409735369", True),  # now, +300 s, -300 s
     ("1409735970", False), ("1409735368", False),  # +301 s, -301 s
     ("0", False), ("", False), ("abc", False), (" 1409735669", False), ("1409735669\n", False),
     ("-1409735669", False), ("1.4e9", False), ("１４０９７３５６６９", False),  # full-width digits
     ("99999999999999999999", False), (None, False), (1409735669, True)],
)
def test_check_timestamp_window(timestamp, expected):
    assert check_timestamp(timestamp, 1409735669.0) is expected


def test_check_timestamp_custom_skew_and_bad_now():
    assert check_timestamp("1000", 1100.0, max_skew=100)
    assert not check_timestamp("1000", 1100.5, max_skew=100)
    assert not check_timestamp("1000", float("nan"))
    assert not check_timestamp("1000", "later")


# --- known answers: decrypt ------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials, encrypt_b64, query, expected",
    [
        pytest.param((OA_TOKEN, OA_KEY, OA_APP_ID), OA_ENCRYPT,
                     (OA_MSG_SIGNATURE, OA_TIMESTAMP, OA_NONCE), OA_PLAINTEXT, id="oa-message"),
        pytest.param((WECOM_TOKEN, WECOM_KEY, WECOM_CORP_ID), WECOM_ECHOSTR, WECOM_VERIFY,
                     "1616140317555161061", id="wecom-url-verification"),
        pytest.param((WECOM_TOKEN, WECOM_KEY, WECOM_CORP_ID), WECOM_ENCRYPT, WECOM_MSG,
                     WECOM_PLAINTEXT, id="wecom-message"),
    ],
)
def test_published_vectors_decrypt(credentials, encrypt_b64, query, expected):
    sig, ts, nonce = query
    crypto = MessageCrypto(*credentials)
    assert crypto.decrypt(encrypt_b64, msg_signature=sig, timestamp=ts, nonce=nonce) == expected


# --- known answers: encrypt ------------------------------------------------------------------


@pytest.mark.parametrize("reply, cipher", [(JAVA_REPLY_1, JAVA_CIPHER_1), (JAVA_REPLY_2, JAVA_CIPHER_2)])
def test_official_account_java_sample_encrypts(reply, cipher):
    crypto = MessageCrypto(JAVA_TOKEN, OA_KEY, JAVA_APP_ID)
    encrypt_b64, sig = crypto.encrypt(
        reply, nonce="xxxxxx", timestamp="1409304348", random16=JAVA_RANDOM
    )
    assert encrypt_b64 == cipher
    assert sig == msg_signature(JAVA_TOKEN, "1409304348", "xxxxxx", cipher)
    assert crypto.decrypt(cipher, msg_signature=sig, timestamp="1409304348", nonce="xxxxxx") == reply


def test_wecom_wechatpy_vector_encrypts_with_signature():
    crypto = MessageCrypto(WP_TOKEN, WP_KEY, WP_CORP_ID)
    encrypt_b64, sig = crypto.encrypt(
        WP_REPLY, nonce="461056294", timestamp="1411525903", random16=b"1234567890123456"
    )
    assert (encrypt_b64, sig) == (WP_CIPHER, WP_SIGNATURE)


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", list(range(0, 70)) + [1000, 4096])
def test_round_trip_pads_to_32_byte_blocks(length):
    crypto = oa_crypto()
    text = ("政策问答😀a" * 1000)[:length]
    encrypt_b64, sig = crypto.encrypt(text, nonce="123", timestamp="1409735669")
    assert len(base64.b64decode(encrypt_b64)) % 32 == 0
    assert crypto.decrypt(encrypt_b64, msg_signature=sig, timestamp="1409735669", nonce="123") == text


def test_encrypt_uses_fresh_random_prefix():
    crypto = oa_crypto()
    first = crypto.encrypt("同一条消息", nonce="1", timestamp="1")
    second = crypto.encrypt("同一条消息", nonce="1", timestamp="1")
    assert first != second


def test_encrypt_rejects_bad_random_prefix():
    with pytest.raises(ValueError):
        oa_crypto().encrypt("x", nonce="1", timestamp="1", random16=b"short")


def test_repr_hides_secrets():
    assert OA_KEY not in repr(oa_crypto()) and OA_TOKEN not in repr(oa_crypto())


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fb"},
        {"msg_signature": OA_MSG_SIGNATURE.upper()},
        {"msg_signature": ""},
        {"msg_signature": None},
        {"nonce": "1320562133"},
        {"timestamp": "1409735670"},
        {"timestamp": None},
    ],
)
def test_tampered_signature_inputs_raise_invalid_signature(changes):
    kwargs = {"msg_signature": OA_MSG_SIGNATURE, "timestamp": OA_TIMESTAMP, "nonce": OA_NONCE}
    kwargs.update(changes)
    with pytest.raises(InvalidSignature):
        oa_crypto().decrypt(OA_ENCRYPT, **kwargs)


def test_tampered_ciphertext_raises_invalid_signature():
    tampered = ("A" if OA_ENCRYPT[0] != "A" else "B") + OA_ENCRYPT[1:]
    with pytest.raises(InvalidSignature):
        oa_crypto().decrypt(
            tampered, msg_signature=OA_MSG_SIGNATURE, timestamp=OA_TIMESTAMP, nonce=OA_NONCE
        )


@pytest.mark.parametrize(
    "credentials, encrypt_b64, query",
    [((OA_TOKEN, OA_KEY, "wx_other_app_id"), OA_ENCRYPT, (OA_MSG_SIGNATURE, OA_TIMESTAMP, OA_NONCE)),
     ((WECOM_TOKEN, WECOM_KEY, "ww0000000000000000"), WECOM_ENCRYPT, WECOM_MSG)],
)
def test_wrong_app_id_or_corp_id_raises_app_id_mismatch(credentials, encrypt_b64, query):
    sig, ts, nonce = query
    with pytest.raises(AppIdMismatch):
        MessageCrypto(*credentials).decrypt(encrypt_b64, msg_signature=sig, timestamp=ts, nonce=nonce)


def _body(msg=b"<xml/>", app_id=OA_APP_ID.encode(), length=None, pad=None):
    core = b"R" * 16 + struct.pack(">I", len(msg) if length is None else length) + msg + app_id
    n = 32 - len(core) % 32
    return core + bytes([n if pad is None else pad]) * n


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_body(pad=0), id="padding-zero"),
        pytest.param(_body()[:-1] + b"\x21", id="padding-33"),
        pytest.param(_body()[:-2] + b"\x00" + _body()[-1:], id="padding-inconsistent"),
        pytest.param(b"R" * 16 + b"\x00\x00" + bytes([14]) * 14, id="too-short-for-length"),
        pytest.param(_body(length=10_000), id="length-overflows"),
        pytest.param(_body(length=0xFFFFFFFF), id="length-max"),
        pytest.param(_body(msg=b"\xff\xfe<xml/>"), id="invalid-utf8"),
    ],
)
def test_malformed_plaintext_raises_decrypt_error(body):
    with pytest.raises(DecryptError):
        signed_decrypt(oa_crypto(), raw_encrypt(OA_KEY, body))


def test_length_field_shifted_into_app_id_raises_app_id_mismatch():
    body = _body(msg=b"<xml/>", length=3)  # msg "<xm", receive id "l/>wx2c..."
    with pytest.raises(AppIdMismatch):
        signed_decrypt(oa_crypto(), raw_encrypt(OA_KEY, body))


def test_valid_hand_built_body_decrypts():
    assert signed_decrypt(oa_crypto(), raw_encrypt(OA_KEY, _body(msg="问".encode()))) == "问"


@pytest.mark.parametrize(
    "encrypt_b64",
    [
        pytest.param("", id="empty"),
        pytest.param("!!!not-base64!!!", id="garbage"),
        pytest.param("中文密文", id="non-ascii"),
        pytest.param("YWJj", id="3-bytes"),
        pytest.param(OA_ENCRYPT[:-8], id="truncated-base64"),
        pytest.param(OA_ENCRYPT[:-4] + "====", id="bad-padding-chars"),
        pytest.param(base64.b64encode(base64.b64decode(OA_ENCRYPT)[:16]).decode(), id="one-block"),
        pytest.param(base64.b64encode(base64.b64decode(OA_ENCRYPT)[:-16]).decode(), id="cut-block"),
        pytest.param(OA_ENCRYPT[:40] + "\n" + OA_ENCRYPT[40:], id="embedded-newline"),
    ],
)
def test_bad_ciphertext_raises_decrypt_error(encrypt_b64):
    with pytest.raises(DecryptError):
        signed_decrypt(oa_crypto(), encrypt_b64)


@pytest.mark.parametrize(
    "key",
    [
        OA_KEY[:-1],  # 42 chars
        OA_KEY + "A",  # 44 chars
        OA_KEY[:-1] + "=",
        OA_KEY[:-1] + "-",  # URL-safe alphabet is not accepted
        "",
        None,
        " " + OA_KEY[1:],
    ],
)
def test_wrong_key_raises_config_error_naming_the_variable(key):
    with pytest.raises(ConfigError) as info:
        MessageCrypto(OA_TOKEN, key, OA_APP_ID)
    assert isinstance(info.value, ValueError)
    assert "WECHAT_ENCODING_AES_KEY" in str(info.value)
    assert info.value.variable == "WECHAT_ENCODING_AES_KEY"


def test_config_error_names_are_configurable_for_wecom():
    with pytest.raises(ConfigError, match="WECOM_ENCODING_AES_KEY"):
        MessageCrypto(WECOM_TOKEN, "short", WECOM_CORP_ID, key_setting="WECOM_ENCODING_AES_KEY")
    with pytest.raises(ConfigError, match="WECOM_CORP_ID"):
        MessageCrypto(WECOM_TOKEN, WECOM_KEY, "", app_id_setting="WECOM_CORP_ID")


@pytest.mark.parametrize("token", ["", None])
def test_empty_token_raises_config_error(token):
    with pytest.raises(ConfigError, match="WECHAT_TOKEN"):
        MessageCrypto(token, OA_KEY, OA_APP_ID)


def test_error_classes_share_one_base():
    for cls in (InvalidSignature, DecryptError, AppIdMismatch):
        assert issubclass(cls, WeChatCryptoError)


# --- fuzzing ---------------------------------------------------------------------------------

_anything = st.one_of(st.none(), st.integers(), st.binary(max_size=64), st.text(max_size=64))


def _only_crypto_errors(crypto, encrypt_b64, **kwargs):
    try:
        crypto.decrypt(encrypt_b64, **kwargs)
    except WeChatCryptoError:
        pass


@settings(max_examples=400, deadline=None)
@given(encrypt_b64=st.text(), sig=st.text(max_size=48), ts=_anything, nonce=_anything,
       sign=st.booleans())
def test_decrypt_arbitrary_text_raises_only_crypto_errors(encrypt_b64, sig, ts, nonce, sign):
    if sign:  # a correct signature, so the fuzzing reaches base64 and AES
        ts, nonce = "1", "2"
        sig = msg_signature(OA_TOKEN, ts, nonce, encrypt_b64)
    _only_crypto_errors(oa_crypto(), encrypt_b64, msg_signature=sig, timestamp=ts, nonce=nonce)


def _flip(args):
    raw = bytearray(base64.b64decode(OA_ENCRYPT))
    raw[args[0] % len(raw)] ^= args[1]
    return bytes(raw)


@settings(max_examples=400, deadline=None)
@given(blob=st.one_of(
    st.binary(max_size=200),  # random ciphertexts, correctly signed
    st.tuples(st.integers(min_value=0), st.integers(1, 255)).map(_flip),  # damaged sample
))
def test_decrypt_signed_arbitrary_ciphertext_raises_only_crypto_errors(blob):
    encrypt_b64 = base64.b64encode(blob).decode()
    sig = msg_signature(OA_TOKEN, "1", "2", encrypt_b64)
    _only_crypto_errors(oa_crypto(), encrypt_b64, msg_signature=sig, timestamp="1", nonce="2")


@settings(max_examples=100, deadline=None)
@given(text=st.text(), nonce=st.text(alphabet="0123456789abc", min_size=1, max_size=12))
def test_round_trip_property(text, nonce):
    crypto = MessageCrypto(WECOM_TOKEN, WECOM_KEY, WECOM_CORP_ID)
    encrypt_b64, sig = crypto.encrypt(text, nonce=nonce, timestamp="1409659813")
    assert crypto.decrypt(encrypt_b64, msg_signature=sig, timestamp="1409659813", nonce=nonce) == text
