"""The raw extract contract (docs/extract_contract.yml) as Python objects.

One file states what every landing file must hold; the loader, the generator, the dbt
sources file and the tests all read it from here so the rules live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONTRACT_PATH = PROJECT_DIR / "docs" / "extract_contract.yml"

# Columns the loader adds to every raw row (lineage of the row back to its file).
LOAD_METADATA_COLUMNS = ("_source_file", "_source_row_number", "_load_id", "_loaded_at")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    allowed: tuple[str, ...] = ()
    pii: bool = False
    min: float | None = None
    max: float | None = None
    references: str | None = None
    allow_future: bool = False
    description: str = ""


@dataclass(frozen=True)
class EntitySpec:
    name: str
    description: str
    key: tuple[str, ...]
    version_column: str | None
    columns: dict[str, ColumnSpec] = field(default_factory=dict)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]


@dataclass(frozen=True)
class Contract:
    version: int
    declared_encodings: tuple[str, ...]
    entities: dict[str, EntitySpec]


def _column(name: str, raw: dict) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        type=raw["type"],
        required=bool(raw.get("required", False)),
        allowed=tuple(str(v) for v in raw.get("allowed", ())),
        pii=bool(raw.get("pii", False)),
        min=raw.get("min"),
        max=raw.get("max"),
        references=raw.get("references"),
        allow_future=bool(raw.get("allow_future", False)),
        description=raw.get("description", ""),
    )


@cache
def load_contract(path: Path = CONTRACT_PATH) -> Contract:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    entities = {
        name: EntitySpec(
            name=name,
            description=spec.get("description", ""),
            key=tuple(spec["key"]),
            version_column=spec.get("version_column"),
            columns={c: _column(c, cspec) for c, cspec in spec["columns"].items()},
        )
        for name, spec in raw["entities"].items()
    }
    return Contract(
        version=raw["version"],
        declared_encodings=tuple(raw["csv"]["declared_encodings"]),
        entities=entities,
    )
