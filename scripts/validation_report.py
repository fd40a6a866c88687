"""What a validation stage found, as plain data: no great-expectations or pandas import, so
that the refresh process can read the report its load step's process wrote (scripts.refresh_load)
without holding those libraries through the dbt builds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SuiteOutcome:
    name: str
    success: bool
    evaluated: int
    failed: list[str] = field(default_factory=list)


@dataclass
class ValidationReport:
    stage: str
    suites: list[SuiteOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw_results: list[dict] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(s.success for s in self.suites)

    def summary(self) -> str:
        lines = []
        for s in self.suites:
            state = "ok" if s.success else "FAILED"
            lines.append(f"{self.stage} suite {s.name}: {state} ({s.evaluated} expectations)")
            lines += [f"  failed: {f}" for f in s.failed]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The report as written to the run's results JSON (and read back by from_dict)."""
        return {
            "stage": self.stage,
            "success": self.success,
            "notes": self.notes,
            "suites": [asdict(s) for s in self.suites],
            "results": self.raw_results,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ValidationReport:
        return cls(
            stage=data["stage"],
            suites=[SuiteOutcome(**s) for s in data["suites"]],
            notes=list(data["notes"]),
            raw_results=list(data["results"]),
        )
