"""The catalogue's knowledge entries as the engine runs them: one flat object per entry.

A :class:`Check` holds what the per-claim path reads of a knowledge entry and
its row: the entry's dates and contexts, and the row's parameters as plain
integers, bit masks and strings, inline in one object. An evaluator then reads
one object of the catalogue per bill line instead of the entry, its row, the
row's sets and the rule's window, which a stream's claims, each parsed just
before, find out of the processor's caches (docs/rules.md, Measured). The
entry, the row and the rule are kept for the hits' evidence.

Built once, by :class:`~detection.rule_engine.RuleEngine`, from a loaded
:class:`~detection.rulebook.RuleBook`; nothing here changes what a rule decides.
"""

from __future__ import annotations

from typing import Final

from detection.rulebook import KnowledgeEntry, KnowledgeRow, Rule

__all__ = ["Check", "checks_of", "level_bit", "scheme_bit", "setting_bit"]

# A rule's window as a number (Window.kind), compared per claim.
WINDOW_CLAIM: Final = 0
WINDOW_DAY: Final = 1
WINDOW_MONTH: Final = 2
WINDOW_COURSE: Final = 3
WINDOW_DAYS: Final = 4
_WINDOWS: Final = {"claim": 0, "day": 1, "month": 2, "course": 3, "days": 4}

#: An absent limit (age, quantity): the loader's limits are never negative.
NO_LIMIT: Final = -1


def setting_bit(setting: str) -> int:
    """A claim type's (a row's setting's) bit; 0 for any other text."""
    if setting == "inpatient":
        return 1
    if setting == "outpatient":
        return 2
    if setting == "ltc":
        return 4
    return 0


def scheme_bit(scheme: str) -> int:
    """A scheme's bit; 0 for any other text."""
    if scheme == "employee":
        return 1
    if scheme == "resident":
        return 2
    return 0


def level_bit(level: int) -> int:
    """A hospital level's bit (levels 1 to 3); 0 for any other number."""
    return 1 << level if 1 <= level <= 3 else 0


def _mask_of_settings(values: frozenset[str]) -> int:
    mask = 0
    for value in values:
        mask |= setting_bit(value)
    return mask


def _mask_of_schemes(values: frozenset[str]) -> int:
    mask = 0
    for value in values:
        mask |= scheme_bit(value)
    return mask


def _mask_of_levels(values: frozenset[int]) -> int:
    mask = 0
    for value in values:
        mask |= level_bit(value)
    return mask


class Check:
    """One knowledge entry, or one version of it, flat.

    An entry with one version (``several`` false) carries its row's
    parameters and the dates the entry and row are both in force. An entry
    with several versions carries the entry's dates, and :meth:`version` picks
    the version in force (a Check of its own, with its row's dates) by the
    rule :class:`KnowledgeEntry` states.

    A plain class, its fields declared in the order the engine and the
    evaluators read them: compiled, they lie inline in that order.
    """

    def __init__(
        self, entry: KnowledgeEntry, row: KnowledgeRow | None, names: dict[str, str]
    ) -> None:
        """``row`` None: the entry's several versions (``entry.only`` when it has one).

        ``names`` gives every item code one string object, shared by the engine,
        the checks and the person's windows: a dictionary finds a key that is
        the same object without reading the key's text.
        """
        rule = entry.rule
        # What the engine reads for every bill line.
        self.kind: int = entry.kind
        self.contexts: int = entry.contexts
        self.several: bool = row is None
        # The entry's (for its only row, narrowed to the row's); a version's own.
        own = row is not None and row is not entry.only
        self.from_day: int = row.from_day if own and row is not None else entry.from_day
        self.to_day: int = row.to_day if own and row is not None else entry.to_day
        # restriction (and price_ceiling's levels)
        self.sex: str = row.sex if row is not None else ""
        self.age_min: int = NO_LIMIT
        self.age_max: int = NO_LIMIT
        self.indications: tuple[str, ...] = row.indications if row is not None else ()
        self.settings: int = 0  # a bit mask (setting_bit); 0: any setting
        self.levels: int = 0  # likewise (level_bit)
        self.schemes: int = 0  # likewise (scheme_bit)
        # quantity, course, frequency, price_ceiling
        self.max_per_day: int = NO_LIMIT
        self.max_per_stay: int = NO_LIMIT
        self.course_days: int = 0
        self.max_count: int = 0
        self.ceiling_fen: int = 0
        self.window: int = _WINDOWS[rule.window.kind]
        self.window_days: int = rule.window.days
        # codes: the row's item (the entry's), the pair's other code, a package's parts
        self.code: str = names.setdefault(entry.item_code, entry.item_code)
        self.other_code: str = names.setdefault(entry.other_code, entry.other_code)
        self.parts: tuple[str, ...] = ()
        self.min_parts: int = 0
        self.package_fen: int = 0
        # For the hits' evidence and the versions.
        self.rule: Rule = rule
        self.row: KnowledgeRow | None = row
        self.national: list[Check] = []
        self.regional: dict[str, list[Check]] = {}
        # The code's next entry (a code's entries are a chain: one object read fewer
        # per bill line than a tuple of them).
        self.next: Check | None = None
        if row is not None:
            if row.age_min is not None:
                self.age_min = row.age_min
            if row.age_max is not None:
                self.age_max = row.age_max
            self.settings = _mask_of_settings(row.settings)
            self.levels = _mask_of_levels(row.levels)
            self.schemes = _mask_of_schemes(row.schemes)
            if row.max_per_day is not None:
                self.max_per_day = row.max_per_day
            if row.max_per_stay is not None:
                self.max_per_stay = row.max_per_stay
            self.course_days = row.course_days
            self.max_count = row.max_count
            self.ceiling_fen = row.ceiling_fen
            self.parts = tuple(names.setdefault(part, part) for part in row.parts)
            self.min_parts = row.min_parts
            self.package_fen = row.package_fen
        else:
            self.national = [Check(entry, r, names) for r in entry.national]
            for region, versions in entry.regional.items():
                self.regional[region] = [Check(entry, r, names) for r in versions]

    def version(self, region: str, day: int) -> Check | None:
        """The version in force for a claim treated in ``region`` on ``day`` (an ordinal).

        A region's own versions replace the national ones; the latest that starts
        on or before ``day``, unless it has ended (:class:`KnowledgeEntry`).
        """
        versions = self.regional.get(region) if self.regional else None
        if versions is None:
            versions = self.national
        chosen: Check | None = None
        for version in versions:
            if version.from_day > day:
                break
            chosen = version
        if chosen is None or day > chosen.to_day:
            return None
        return chosen


def checks_of(entries: list[KnowledgeEntry], names: dict[str, str]) -> Check | None:
    """The first of a code's entries as Checks, chained in the book's order (None: none).

    Each code gets Checks of its own (an unbundling entry is listed under each part).
    """
    first: Check | None = None
    for entry in reversed(entries):
        check = Check(entry, entry.only, names)
        check.next = first
        first = check
    return first
