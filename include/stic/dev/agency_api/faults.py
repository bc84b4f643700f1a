"""The faults the reference agency API can inject, parsed from NAME[:N] specs."""

from __future__ import annotations

from dataclasses import dataclass, field

FAULT_NAMES = ("500", "slow", "malformed", "expire_token", "changing_page")
_FAULT_DEFAULTS = {"500": 2, "slow": 3.0, "malformed": 1, "expire_token": 3, "changing_page": 1}

# --------------------------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Which faults a server injects, and their parameter (see the module docstring)."""

    active: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...] | None) -> Faults:
        active: dict[str, float] = {}
        for spec in specs or ():
            name, _, arg = spec.partition(":")
            if name not in FAULT_NAMES:
                raise ValueError(f"unknown fault {name!r}: expected one of {', '.join(FAULT_NAMES)} (NAME or NAME:N)")
            try:
                active[name] = float(arg) if arg else _FAULT_DEFAULTS[name]
            except ValueError:
                raise ValueError(f"fault {spec!r}: the parameter after ':' must be a number") from None
        return cls(active)

    def __contains__(self, name: str) -> bool:
        return name in self.active

    def n(self, name: str) -> float:
        return self.active[name]
