"""Reading what the page keeps in the browser: gr.BrowserState's localStorage value, decrypted as the page does.

Gradio 6.31's frontend stores `base64(iv) + ":" + CryptoJS.AES.encrypt(json, SHA256(secret).hex)`. With a
passphrase CryptoJS derives the key and IV itself (OpenSSL's EVP_BytesToKey, MD5, the salt in the "Salted__"
header) and ignores the IV before the colon.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from seedream_ui.ui_history import STORAGE_KEY


def browser_state_secret(app_url: str) -> str:
    """The secret the page hands every browser (in its public config) to decrypt its BrowserState."""
    config = httpx.get(app_url + "config").json()
    states = [c for c in config["components"] if c.get("type") == "browserstate"]
    assert len(states) == 1
    return str(states[0]["props"]["secret"])


def decrypt(stored: str, secret: str) -> Any:
    passphrase = hashlib.sha256(secret.encode()).hexdigest().encode()
    raw = base64.b64decode(stored.split(":", 1)[1])
    assert raw[:8] == b"Salted__"
    salt, body = raw[8:16], raw[16:]
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt).digest()
        derived += block
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(decryptor.update(body) + decryptor.finalize()) + unpadder.finalize()
    return json.loads(plain)


def stored_value(page: Any) -> str | None:
    """The raw localStorage value of the history (a Playwright Page)."""
    return page.evaluate("key => localStorage.getItem(key)", STORAGE_KEY)


def saved_entries(page: Any, secret: str, count: int, timeout: float = 30.0) -> list[dict[str, str]]:
    """The decrypted history entries, once the browser holds `count` of them (they are written just after
    each generation is shown)."""
    deadline = time.monotonic() + timeout
    entries: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        raw = stored_value(page)
        entries = decrypt(raw, secret) if raw else []
        if len(entries) == count:
            return entries
        page.wait_for_timeout(200)
    raise AssertionError(f"the browser kept {len(entries)} history entries, not {count}")
