"""Binance API credentials of a paper run: from the environment or a 0600 key file.

* Environment: ``VIBE_QUANT_BINANCE_API_KEY`` and ``VIBE_QUANT_BINANCE_API_SECRET``.
* Key file (``--key-file PATH``): two non-empty lines ``key`` then ``secret`` (or
  ``KEY=…``/``SECRET=…`` / ``api_key: …``/``api_secret: …`` lines). It must be a regular file
  readable by its owner only (mode ``0600`` or ``0400``); any group/other permission bit is
  refused — the same rule ``ssh`` applies to private keys.

Only the key file's *path* is stored (``paper_runs.key_file``); the key and secret live in the
processes' memory and environment only, never in SQLite, logs, events or output.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from vibe_quant.core.errors import PaperError

KEY_ENV = "VIBE_QUANT_BINANCE_API_KEY"
SECRET_ENV = "VIBE_QUANT_BINANCE_API_SECRET"


class CredentialError(PaperError, ValueError):
    """No usable API key/secret (one line: what is missing and how to provide it)."""


@dataclass(frozen=True)
class Credentials:
    key: str = field(repr=False)
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return "Credentials(***)"

    @property
    def secrets(self) -> tuple[str, str]:
        return (self.key, self.secret)


def _parse(text: str, path: Path) -> Credentials:
    vals: dict[str, str] = {}
    plain: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        for sep in ("=", ":"):
            if sep in s:
                k, v = s.split(sep, 1)
                k = k.strip().lower()
                if k in (
                    "key",
                    "api_key",
                    "secret",
                    "api_secret",
                    KEY_ENV.lower(),
                    SECRET_ENV.lower(),
                ):
                    vals["secret" if "secret" in k else "key"] = v.strip().strip("'\"")
                    break
        else:
            plain.append(s)
    key = vals.get("key") or (plain[0] if len(plain) >= 1 else "")
    secret = vals.get("secret") or (plain[1] if len(plain) >= 2 else "")
    if not key or not secret:
        raise CredentialError(
            f"key file {path} must hold the API key and the secret (two lines, or key=…/secret=…)"
        )
    return Credentials(key, secret)


def load(
    key_file: str | os.PathLike | None = None, env: dict[str, str] | None = None
) -> Credentials:
    """Credentials from ``key_file`` (checked 0600) when given, else from the environment.

    Raises:
        CredentialError: missing variables, an unreadable file, or a file readable by others.
    """
    if key_file:
        p = Path(key_file)
        try:
            st = p.stat()
        except OSError as e:
            raise CredentialError(f"cannot read key file {p}: {e.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise CredentialError(f"key file {p} is not a regular file")
        if st.st_mode & 0o077:
            raise CredentialError(
                f"key file {p} has permissions {stat.S_IMODE(st.st_mode):04o}; it must be "
                f"readable by its owner only: run `chmod 600 {p}`"
            )
        return _parse(p.read_text(), p)
    e = os.environ if env is None else env
    key, secret = e.get(KEY_ENV, ""), e.get(SECRET_ENV, "")
    if not key or not secret:
        raise CredentialError(
            f"no Binance API key: set {KEY_ENV} and {SECRET_ENV} or pass "
            "--key-file PATH (mode 0600)"
        )
    return Credentials(key, secret)
