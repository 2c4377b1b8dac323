"""API keys: parsed once at startup, checked in constant time on every request.

Keys are configured as plain text or as ``sha256:<hex>`` (so the secret itself need not sit
in the environment). Both are reduced to SHA-256 digests at startup; a presented key is
hashed and compared with every digest by ``hmac.compare_digest`` (no early exit), so the
time taken says nothing about which key, or how much of one, matched. Keys never appear in
logs or error messages.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from pydantic import SecretStr

from creditscore.exceptions import ConfigError

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
#: The request header that carries a key.
API_KEY_HEADER = "X-API-Key"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def parse_keys(keys: Sequence[SecretStr | str], setting: str) -> tuple[bytes, ...]:
    """SHA-256 digests of configured keys; a malformed ``sha256:`` entry is a ConfigError."""
    digests: list[bytes] = []
    for position, raw in enumerate(keys, start=1):
        key = raw.get_secret_value() if isinstance(raw, SecretStr) else str(raw)
        key = key.strip()
        if not key:
            continue
        if key.lower().startswith("sha256:"):
            hexpart = key[len("sha256:") :]
            if not _HEX64.fullmatch(hexpart):
                raise ConfigError(
                    f"{setting}: entry {position} starts with 'sha256:' but is not followed by "
                    "64 hex digits; give the key itself or sha256:<hex of its SHA-256>"
                )
            digests.append(bytes.fromhex(hexpart))
        else:
            digests.append(_digest(key))
    return tuple(digests)


class KeyRing:
    """A set of accepted keys (as digests). Empty means no key is accepted."""

    __slots__ = ("_digests",)

    def __init__(self, digests: Sequence[bytes]) -> None:
        self._digests = tuple(digests)

    def __bool__(self) -> bool:
        return bool(self._digests)

    def __len__(self) -> int:
        return len(self._digests)

    def __repr__(self) -> str:  # never show digests either
        return f"KeyRing({len(self._digests)} keys)"

    def accepts(self, presented: str | None) -> bool:
        if not presented or not self._digests:
            return False
        candidate = _digest(presented)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(candidate, digest)
        return found


class AuthConfig:
    """Who may call what: client keys, admin keys, and whether dev mode lifts the check.

    Configured keys are always enforced. Dev mode only lets the service run with no key
    configured at all (every client route is then open); it never opens the admin routes,
    which need an admin key and are disabled while none is configured.
    """

    __slots__ = ("admin", "clients", "dev_mode")

    def __init__(self, clients: KeyRing, admin: KeyRing, dev_mode: bool) -> None:
        self.clients = clients
        self.admin = admin
        self.dev_mode = dev_mode

    @classmethod
    def from_settings(
        cls,
        api_keys: Sequence[SecretStr | str],
        admin_keys: Sequence[SecretStr | str],
        dev_mode: bool,
    ) -> AuthConfig:
        clients = KeyRing(parse_keys(api_keys, "CREDITSCORE_API_KEYS"))
        admin = KeyRing(parse_keys(admin_keys, "CREDITSCORE_ADMIN_KEYS"))
        if not clients and not dev_mode:
            raise ConfigError(
                "no API key configured: set CREDITSCORE_API_KEYS to one or more comma-separated "
                "keys (or sha256:<hex> digests), or CREDITSCORE_DEV_MODE=true to run without "
                "keys on a development machine"
            )
        return cls(clients, admin, dev_mode)

    @property
    def open_access(self) -> bool:
        """Dev mode with no key configured at all: client routes need no key."""
        return self.dev_mode and not self.clients and not self.admin

    def client_denial(self, presented: str | None) -> tuple[int, str] | None:
        """Why a client route refuses ``presented`` (status, message), or None to let it in.
        An admin key is a client key too."""
        if self.open_access:
            return None
        if not presented:
            return 401, f"missing API key: send it in the {API_KEY_HEADER} header"
        if self.clients.accepts(presented) or self.admin.accepts(presented):
            return None
        return 401, "invalid API key"

    def admin_denial(self, presented: str | None) -> tuple[int, str] | None:
        """Why an admin route refuses ``presented`` (status, message), or None."""
        if not self.admin:
            return 403, "admin routes are disabled: no CREDITSCORE_ADMIN_KEYS configured"
        if not presented:
            return 401, f"missing admin key: send it in the {API_KEY_HEADER} header"
        if self.admin.accepts(presented):
            return None
        if self.clients.accepts(presented):
            return 403, "this route needs an admin key (CREDITSCORE_ADMIN_KEYS)"
        return 401, "invalid admin key"
