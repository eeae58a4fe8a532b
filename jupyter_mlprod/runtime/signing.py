"""Signing model manifests: an HMAC-SHA256 that is checked before any artifact is loaded.

Every artifact's SHA-256 is in the manifest and is checked before its file is read
(artifacts.py), so the manifest is what a model is trusted by. Whoever can write the store can
rewrite a file and its hash, or name another class to rebuild a torch module with. A signature
closes that: ``train`` with a key writes ``vN/manifest.sig``, an HMAC-SHA256 of the version id
and the manifest in canonical form (sorted keys, no spaces, as parsed, so a re-indented file
still verifies and a duplicated key cannot show the checker one value and the loader another);
loading recomputes it with the key before it opens any artifact.

The key never lives in the store: it is the text of ``$MLPROD_SIGNING_KEY``, or the contents of
the file ``$MLPROD_SIGNING_KEY_FILE`` names (outside the store). Rules at load:

- key set: the version must carry a signature that matches, else it is refused;
- no key, version signed: refused, asking for the key (a signed store needs it);
- no key, version unsigned: loaded, with one warning per process that the store is unsigned
  (``$MLPROD_UNSIGNED_OK=1`` says that is intended, and silences it).

So the protection holds while the key is set where models are loaded; without it, deleting
the signatures turns a signed store into an unsigned one. The standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from pathlib import Path
from typing import Any

from .errors import ModelError

KEY_ENV = "MLPROD_SIGNING_KEY"
KEY_FILE_ENV = "MLPROD_SIGNING_KEY_FILE"
UNSIGNED_OK_ENV = "MLPROD_UNSIGNED_OK"
PROG = (__package__ or "model").replace("_", "-")
SIGNATURE = "manifest.sig"
ALGORITHM = "hmac-sha256"
MIN_KEY_BYTES = 16
_CONTEXT = b"jupyter-mlprod manifest v1\n"
_warned_about: set[str] = set()
"""Unsigned stores already warned about: the warning is printed once per store and process."""


def signing_key(store_root: Path) -> bytes | None:
    """The signing key from the environment, or None when none is set.

    Raises:
        ModelError: Both variables set, the key file unreadable or inside the store, or a key
            shorter than :data:`MIN_KEY_BYTES`.
    """
    text = os.environ.get(KEY_ENV) or None
    file_name = os.environ.get(KEY_FILE_ENV) or None
    if text is not None and file_name is not None:
        raise ModelError(f"set {KEY_ENV} or {KEY_FILE_ENV}, not both")
    if file_name is not None:
        key_file = Path(file_name).resolve()
        if key_file.is_relative_to(store_root.resolve()):
            raise ModelError(
                f"{KEY_FILE_ENV}={file_name} is inside the model store {store_root}; keep the "
                "key where whoever can write the store cannot read it"
            )
        try:
            key = key_file.read_bytes().strip()
        except OSError as error:
            raise ModelError(
                f"{KEY_FILE_ENV}={file_name}: cannot read ({error.strerror})"
            ) from None
        where = f"the key in {KEY_FILE_ENV}={file_name}"
    elif text is not None:
        key, where = text.encode("utf-8"), KEY_ENV
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise ModelError(f"{where} is shorter than {MIN_KEY_BYTES} bytes; use a random key")
    return key


def sign_version(version_dir: Path, version: str, key: bytes) -> None:
    """Write ``manifest.sig`` for the manifest in ``version_dir``, to be published as
    ``version``."""
    digest = _digest(key, version, _canonical(version_dir / "manifest.json"))
    (version_dir / SIGNATURE).write_text(f"{ALGORITHM} {digest}\n", encoding="ascii")


def verify_version(store_root: Path, version: str, parsed: Any = None) -> None:
    """Check a version's signature as the rules above say; call before loading any artifact.

    Args:
        store_root: The model store.
        version: The version id (signed too).
        parsed: The manifest as the caller read it and will use it, so the signature covers
            exactly that (a file swapped between a check and a second read cannot slip
            through); None reads the file.

    Raises:
        ModelError: One line naming the version's file: not signed while a key is set, signed
            while no key is set, or a signature that does not match.
    """
    version_dir = store_root / version
    manifest = version_dir / "manifest.json"
    signature_file = version_dir / SIGNATURE
    key = signing_key(store_root)
    signed = signature_file.is_file()
    if key is None:
        if signed:
            raise ModelError(
                f"{signature_file}: {version} is signed but no key is set; set {KEY_ENV} or "
                f"{KEY_FILE_ENV} to the key it was trained with"
            )
        _warn_unsigned(store_root)
        return
    if not signed:
        raise ModelError(
            f"{manifest}: {version} is not signed but a signing key is set; train a new "
            f"version with the key, or unset {KEY_ENV} and {KEY_FILE_ENV} to load it"
        )
    algorithm, _, recorded = signature_file.read_text(encoding="ascii", errors="replace").partition(
        " "
    )
    canonical = _canonical(manifest) if parsed is None else _canonical_value(parsed)
    expected = _digest(key, version, canonical)
    if algorithm != ALGORITHM or not hmac.compare_digest(recorded.strip(), expected):
        raise ModelError(
            f"{manifest}: the signature of {version} does not match; the manifest or its "
            "signature was changed after training (or the key differs) — restore them or train "
            "a new version"
        )


def _canonical(manifest: Path) -> bytes:
    try:
        value = json.loads(manifest.read_bytes())
    except FileNotFoundError:
        raise ModelError(f"{manifest}: manifest is missing") from None
    except (OSError, ValueError, RecursionError) as error:
        raise ModelError(f"{manifest}: unreadable manifest ({type(error).__name__})") from None
    return _canonical_value(value)


def _canonical_value(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _digest(key: bytes, version: str, canonical: bytes) -> str:
    # The version id is signed too: a signed v1 copied over v2 must not pass as v2.
    message = _CONTEXT + version.encode("ascii") + b"\n" + canonical
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _warn_unsigned(store_root: Path) -> None:
    if os.environ.get(UNSIGNED_OK_ENV, "") not in ("", "0"):
        return
    if str(store_root) not in _warned_about:
        _warned_about.add(str(store_root))
        print(
            f"{PROG}: warning: model store {store_root} is not signed; set {KEY_ENV} when "
            f"training and serving to sign and check its manifests (or {UNSIGNED_OK_ENV}=1)",
            file=sys.stderr,
        )
