"""Write models/staging/crm/_crm__sources.yml from the extract contract.

The dbt sources file carries the contract's column rules as `meta` so that the staging
macros type and check every column from the same definition the loader enforces.
Run it after editing docs/extract_contract.yml; a test fails while the two disagree.
"""

from __future__ import annotations

import argparse
import sys

import yaml

from scripts.contract import LOAD_METADATA_COLUMNS, PROJECT_DIR, load_contract

SOURCES_PATH = PROJECT_DIR / "models" / "staging" / "crm" / "_crm__sources.yml"

HEADER = (
    "# GENERATED from docs/extract_contract.yml by scripts/contract_to_sources.py.\n"
    "# Do not edit by hand: edit the contract and run `make contract`.\n"
)

METADATA_DESCRIPTIONS = {
    "_source_file": "Landing file the row was read from, relative to the landing folder.",
    "_source_row_number": "1-based data row number inside the source file.",
    "_load_id": "Identifier of the loader run that inserted the row.",
    "_loaded_at": "UTC time the loader inserted the row.",
}


def _column_meta(col) -> dict:
    meta: dict = {"type": col.type}
    if col.required:
        meta["required"] = True
    if col.allowed:
        meta["allowed"] = list(col.allowed)
    if col.min is not None:
        meta["min"] = col.min
    if col.max is not None:
        meta["max"] = col.max
    if col.references:
        meta["references"] = col.references
    if col.allow_future:
        meta["allow_future"] = True
    if col.pii:
        meta["pii"] = True
    return meta


def render_sources() -> str:
    contract = load_contract()
    tables = []
    for entity in contract.entities.values():
        columns = []
        for col in entity.columns.values():
            entry = {"name": col.name}
            if col.description:
                entry["description"] = col.description
            entry["config"] = {"meta": _column_meta(col)}
            columns.append(entry)
        columns += [
            {"name": name, "description": METADATA_DESCRIPTIONS[name]}
            for name in LOAD_METADATA_COLUMNS
        ]
        tables.append(
            {
                "name": entity.name,
                "description": entity.description,
                "config": {
                    "meta": {
                        "key": list(entity.key),
                        "version_column": entity.version_column,
                    }
                },
                "columns": columns,
            }
        )
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "crm",
                "description": "Raw CRM extracts as loaded by scripts/load_landing.py: every "
                "value is text exactly as it arrived, plus the lineage columns of the load.",
                "schema": "{{ var('crm_raw_schema', 'raw') }}",
                "tables": tables,
            }
        ],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    rendered = render_sources()
    current = SOURCES_PATH.read_text(encoding="utf-8") if SOURCES_PATH.exists() else ""
    if args.check:
        if current != rendered:
            print(f"{SOURCES_PATH} is out of date with the contract: run `make contract`.")
            return 1
        return 0
    SOURCES_PATH.write_text(rendered, encoding="utf-8")
    print(f"wrote {SOURCES_PATH.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
