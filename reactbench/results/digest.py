"""The digest of a result record's scored content: what was scored and what it scored,
sealed when the record is assembled, so that a result file changed afterwards (a metric
value edited by hand, even within its interval) is told apart from one reactbench wrote.

``digest`` = {``scheme``: ``DIGEST_SCHEME``, ``sha256``: hex}: the SHA-256 of the UTF-8
canonical JSON (keys sorted, no spaces, ``json.dumps`` number forms) of the record's
``SCORED_FIELDS`` that are present. Not covered: ``created``, ``software``, ``machine`` and
``timings`` (when and where it ran, not what it scored) and the digest itself.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

DIGEST_SCHEME = "reactbench.scored/1"
SCORED_FIELDS = (
    "schema", "kind", "command", "task", "window", "split", "alpha", "seeds", "protocol",
    "protocol_version", "bootstrap", "bootstrap_seed", "realism_features", "metrics", "extra",
    "per_seed", "model", "dataset", "predictions", "causality", "targets",
)


def scored_content(record: dict) -> dict[str, Any]:
    """The fields of ``record`` its digest covers (``SCORED_FIELDS`` that are present)."""
    return {k: record[k] for k in SCORED_FIELDS if k in record}


def scored_sha256(record: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``scored_content(record)``."""
    text = json.dumps(scored_content(record), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_digest(record: dict) -> dict[str, str]:
    """The ``digest`` entry of ``record`` as it is now."""
    return {"scheme": DIGEST_SCHEME, "sha256": scored_sha256(record)}


def edited(record: dict) -> bool:
    """True when ``record`` carries a digest that its scored content no longer matches (the
    file was changed after reactbench wrote it). Records without a digest (written before
    records carried one) are not judged. A row merged from several runs
    (:mod:`reactbench.merge`, ``runs``) is edited when any of its runs was."""
    if record.get("runs"):
        return any(run.get("edited") for run in record["runs"])
    digest = record.get("digest")
    if not isinstance(digest, dict):
        return False
    return digest.get("sha256") != scored_sha256(record)
