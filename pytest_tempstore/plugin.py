"""The pytest plugin's hooks. Kept cheap to import: heavy modules load on first use."""

from __future__ import annotations
