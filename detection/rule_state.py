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
from functools import lru_cache
from typing import Any, Final

from detection.facts import person_key

STATE_VERSION = 1
# Final: compiled, read from C statics, not from the module's dict at every use.
_NEVER: Final = 1 << 30  # later than any date's ordinal
_NO_USES: Final[tuple[int, ...]] = ()


@dataclass(slots=True, init=False)
class PersonWindow:
    """One person's remembered uses and courses.

    ``uses`` maps an item code to its uses in the order folded, flat:
    ``(day ordinal, quantity, day ordinal, quantity, ...)``; ``courses`` maps an
    item code to ``(first day, last day)`` of its current course of use;
    ``latest`` is the latest service day folded in.

    Tuples of integers, not lists of pairs: the garbage collector stops
    tracking a tuple of integers once it has seen it, so a large state costs
    the collections almost nothing (lists and pairs would be walked at every
    full collection, a cost paid per claim).
    """

    uses: dict[str, tuple[int, ...]]
    courses: dict[str, tuple[int, int]]
    latest: int
    earliest: int  # the earliest day in ``uses``: pruning is due when it is too old

    def __init__(
        self,
        uses: dict[str, tuple[int, ...]] | None = None,
        courses: dict[str, tuple[int, int]] | None = None,
        latest: int = 0,
        earliest: int = _NEVER,
    ) -> None:
        # Written out: compiled, a dataclass's generated __init__ is interpreted.
        self.uses = uses if uses is not None else {}
        self.courses = courses if courses is not None else {}
        self.latest = latest
        self.earliest = earliest

    def quantity_between(self, code: str, first: int, last: int) -> int:
        """Units of ``code`` used from day ``first`` to day ``last``, inclusive."""
        kept = self.uses.get(code, _NO_USES)
        total = 0
        for i in range(0, len(kept), 2):
            if first <= kept[i] <= last:
                total += kept[i + 1]
        return total

    def fold(
        self,
        day: int,
        uses: dict[str, int],
        courses: dict[str, tuple[int, int]],
        horizon_days: int,
    ) -> None:
        """Add one claim's tracked uses and course updates, then forget what no window reaches."""
        for code, quantity in uses.items():
            self.add_use(code, day, quantity)
        if courses:
            self.courses.update(courses)
        self.close_day(day, horizon_days)

    def add_use(self, code: str, day: int, quantity: int) -> None:
        """Remember ``quantity`` units of ``code`` used on ``day`` (one claim's, summed)."""
        kept = self.uses.get(code)
        # Concatenated, not unpacked: compiled, ``(*kept, ...)`` builds a list first.
        self.uses[code] = (day, quantity) if kept is None else kept + (day, quantity)  # noqa: RUF005
        if day < self.earliest:
            self.earliest = day

    def close_day(self, day: int, horizon_days: int) -> None:
        """After a claim served on ``day`` is added: forget what no window reaches."""
        if day > self.latest:
            self.latest = day
        oldest = self.latest - horizon_days
        if self.earliest < oldest:
            earliest = _NEVER
            for code in list(self.uses):
                old = self.uses[code]
                kept: list[int] = []
                for i in range(0, len(old), 2):
                    day_used = old[i]
                    if day_used >= oldest:
                        kept.append(day_used)
                        kept.append(old[i + 1])
                        earliest = min(earliest, day_used)
                if kept:
                    self.uses[code] = tuple(kept)
                else:
                    del self.uses[code]
            self.earliest = earliest
            # A course is folded with a use of its item on its last day, so a
            # course ended before ``oldest`` left a use before it: checked here only.
            stale = [code for code, (_, last) in self.courses.items() if last < oldest]
            for code in stale:
                del self.courses[code]


@lru_cache(maxsize=1 << 16)
def state_key(person_id: str) -> str:
    """The one-way key a person's windows are kept under (cached: people claim often)."""
    return person_key(person_id)


#: How many people's windows :meth:`RuleState.recent` finds by number (as state_key's cache).
RECENT_PEOPLE = 1 << 16


@dataclass(slots=True)
class RuleState:
    """Every person's window memory.

    ``by_number`` finds the windows of people seen lately without hashing
    their number again (:meth:`recent`), and is never snapshotted. It relies
    on a window, once in ``persons``, never being replaced or removed: windows
    are added (:meth:`add`, :meth:`for_person`) or restored (:meth:`from_dict`).
    """

    persons: dict[str, PersonWindow] = field(default_factory=dict)
    by_number: dict[str, PersonWindow] = field(default_factory=dict, compare=False, repr=False)

    def get(self, person_id: str) -> PersonWindow | None:
        """The person's memory, or None for someone not seen (nothing is created)."""
        return self.persons.get(state_key(person_id))

    def recent(self, person_id: str) -> PersonWindow | None:
        """:meth:`get`, remembering the window by number for the person's next claims."""
        window = self.by_number.get(person_id)
        if window is None:
            window = self.persons.get(state_key(person_id))
            if window is not None:
                self._remember(person_id, window)
        return window

    def add(self, person_id: str) -> PersonWindow:
        """A new, empty window for someone not seen (:meth:`recent` gave None)."""
        window = self.persons[state_key(person_id)] = PersonWindow()
        self._remember(person_id, window)
        return window

    def _remember(self, person_id: str, window: PersonWindow) -> None:
        if len(self.by_number) >= RECENT_PEOPLE:
            self.by_number.clear()  # bounded like state_key's cache: start again
        self.by_number[person_id] = window

    def for_person(self, person_id: str) -> PersonWindow:
        key = state_key(person_id)
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
                    "uses": {
                        code: [[uses[i], uses[i + 1]] for i in range(0, len(uses), 2)]
                        for code, uses in sorted(w.uses.items())
                    },
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
            window = persons[key] = PersonWindow(
                uses={str(c): _flat(uses) for c, uses in w["uses"].items()},
                courses={str(c): (int(s), int(e)) for c, (s, e) in w["courses"].items()},
                latest=int(w["latest"]),
            )
            days = [uses[i] for uses in window.uses.values() for i in range(0, len(uses), 2)]
            window.earliest = min(days, default=_NEVER)
        return cls(persons)


def _flat(pairs: list[Any]) -> tuple[int, ...]:
    """``[[day, quantity], ...]`` (a snapshot's uses of one code) as a flat tuple."""
    out: list[int] = []
    for day, quantity in pairs:
        out.append(int(day))
        out.append(int(quantity))
    return tuple(out)
