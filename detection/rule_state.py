"""Per-person memory of the rule windows: item uses and courses, folded claim by claim.

Only the codes a rule needs across claims are kept (``RuleBook.tracked_codes``)
and only as far back as the longest window (``RuleBook.horizon_days``), so the
state stays small. Claims are folded in event order, one at a time: a batch and
a stream that see the same claims in the same order hold the same state and give
the same hits. The state is plain data (:meth:`RuleState.to_dict`) for snapshots.
People are keyed by a one-way hash of the identity number, never the number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detection.facts import person_key

STATE_VERSION = 1


@dataclass(slots=True)
class PersonWindow:
    """One person's remembered uses ``(day ordinal, code, quantity)`` and courses.

    ``courses`` maps an item code to ``(first day, last day)`` of its current
    course of use; ``latest`` is the latest service day folded in.
    """

    uses: list[tuple[int, str, int]] = field(default_factory=list)
    courses: dict[str, tuple[int, int]] = field(default_factory=dict)
    latest: int = 0

    def quantity_between(self, code: str, first: int, last: int) -> int:
        """Units of ``code`` used from day ``first`` to day ``last``, inclusive."""
        return sum(q for day, c, q in self.uses if c == code and first <= day <= last)

    def fold(
        self,
        day: int,
        uses: dict[str, int],
        courses: dict[str, tuple[int, int]],
        horizon_days: int,
    ) -> None:
        """Add one claim's tracked uses and course updates, then forget what no window reaches."""
        for code, quantity in uses.items():
            self.uses.append((day, code, quantity))
        self.courses.update(courses)
        if day > self.latest:
            self.latest = day
        oldest = self.latest - horizon_days
        if self.uses and self.uses[0][0] < oldest:
            self.uses = [u for u in self.uses if u[0] >= oldest]
        stale = [code for code, (_, last) in self.courses.items() if last < oldest]
        for code in stale:
            del self.courses[code]


@dataclass(slots=True)
class RuleState:
    """Every person's window memory."""

    persons: dict[str, PersonWindow] = field(default_factory=dict)

    def get(self, person_id: str) -> PersonWindow | None:
        """The person's memory, or None for someone not seen (nothing is created)."""
        return self.persons.get(person_key(person_id))

    def for_person(self, person_id: str) -> PersonWindow:
        key = person_key(person_id)
        window = self.persons.get(key)
        if window is None:
            window = self.persons[key] = PersonWindow()
        return window

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: ``{"version", "persons": {key: {uses, courses, latest}}}``."""
        return {
            "version": STATE_VERSION,
            "persons": {
                key: {
                    "uses": [[day, code, quantity] for day, code, quantity in w.uses],
                    "courses": {code: [s, e] for code, (s, e) in sorted(w.courses.items())},
                    "latest": w.latest,
                }
                for key, w in self.persons.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleState:
        """The state :meth:`to_dict` wrote (also after a JSON round trip)."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(
                f"rule state version {data.get('version')!r}, expected {STATE_VERSION}"
            )
        persons: dict[str, PersonWindow] = {}
        for key, w in data["persons"].items():
            persons[key] = PersonWindow(
                uses=[(int(d), str(c), int(q)) for d, c, q in w["uses"]],
                courses={str(c): (int(s), int(e)) for c, (s, e) in w["courses"].items()},
                latest=int(w["latest"]),
            )
        return cls(persons)
