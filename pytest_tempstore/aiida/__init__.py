"""The AiiDA mode: aiida-core's own test fixtures on an in-memory store that resets in well under 1 ms.

Turned on with ``--tempstore-aiida`` (or ini ``tempstore_aiida = true``); the
hooks are in :mod:`.plugin`. Importing this package imports nothing of aiida:
the storage backend (:mod:`.backend`, registered as the ``aiida.storage`` entry
point ``tempstore.sqlite_temp``) and the rest load only when the mode is on.
"""

from __future__ import annotations

__all__: list[str] = []
