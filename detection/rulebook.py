"""The rule catalogue as data: rules (the rule base) and their knowledge rows (the knowledge base).

A :class:`Rule` is one row of ``rules.csv`` in the national template's fields;
its ``logic`` names one of a fixed set of evaluators
(:mod:`detection.rule_evaluators`). Each knowledge row names the rule it
parameterises and the item (national catalogue code) it is about, and carries
its own dates and region. :class:`RuleBook` indexes the rows by item code once,
at load, so a claim's evaluation is a dictionary look-up per bill line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from settlement.money import format_fen

#: The evaluators a rule may name; a new kind of logic is code, a new rule is a row.
LOGICS = (
    "restriction",
    "quantity",
    "course",
    "frequency",
    "price_ceiling",
    "mutual_exclusion",
    "unbundling",
    "prerequisite",
)
#: A logic's number (its place in LOGICS), what the engine dispatches on per claim.
KIND = {logic: number for number, logic in enumerate(LOGICS)}
RESULTS = ("certain", "suspicious")  # 明确 / 可疑
SCENARIOS = ("inpatient", "outpatient", "ltc", "intercity")
STAGES = ("before", "during", "after")  # 事前 / 事中 / 事后
SCHEMES = ("employee", "resident")
SETTINGS = ("inpatient", "outpatient", "ltc")
SEXES = ("M", "F")
#: The windows each logic accepts. ``claim`` is this visit or stay (当次就诊),
#: ``day`` the calendar day of the service date, ``month`` its natural month,
#: ``<N>d`` the N days ending on it, ``course`` a course of use (the row's
#: ``break_days`` says when a new one starts).
WINDOWS_BY_LOGIC: dict[str, tuple[str, ...]] = {
    "restriction": ("claim",),
    "quantity": ("claim",),
    "course": ("course",),
    "frequency": ("claim", "day", "month", "Nd"),
    "price_ceiling": ("claim",),
    "mutual_exclusion": ("claim",),
    "unbundling": ("claim",),
    "prerequisite": ("claim", "Nd"),
}


#: The ordinal standing for "no end date".
OPEN_END = date.max.toordinal()
#: Windows anchored on the admission date (a day window over a stay, a
#: prerequisite before the first use) look back over the stay as well: memory
#: is kept this many days longer than the longest window.
STAY_SLACK_DAYS = 92


@dataclass(frozen=True, slots=True)
class Window:
    """A counting window: ``kind`` is claim, day, month, course or days (then ``days`` is N)."""

    kind: str
    days: int = 0

    def __str__(self) -> str:
        return f"{self.days}d" if self.kind == "days" else self.kind

    @property
    def horizon_days(self) -> int:
        """How many days of history the window can look back over (0: none)."""
        if self.kind == "days":
            return self.days
        if self.kind == "month":
            return 31
        if self.kind == "day":
            return 1
        return 0


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of the rule base (national template fields plus dates)."""

    rule_code: str
    name: str
    logic: str
    result: str
    window: Window
    scenarios: frozenset[str]
    stage: frozenset[str]
    schemes: frozenset[str]  # empty: every scheme
    effective_from: date
    effective_to: date | None
    source: str
    line: int = 0  # its line in rules.csv
    # The dates as ordinals (open end: date.max), compared per claim on the hot path.
    from_day: int = 0
    to_day: int = OPEN_END

    def in_force(self, day: int) -> bool:
        """Whether the rule applies to a claim discharged on ``day`` (an ordinal)."""
        return self.from_day <= day <= self.to_day

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_code": self.rule_code,
            "name": self.name,
            "logic": self.logic,
            "result": self.result,
            "window": str(self.window),
            "scenario": sorted(self.scenarios),
            "stage": sorted(self.stage),
            "schemes": sorted(self.schemes),
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class KnowledgeRow:
    """One knowledge row: which rule and item it is about, where and when it holds.

    The fields after ``to_day`` are the tables' own columns, parsed (money in
    fen, lists as tuples); each table sets its own and leaves the others at
    their defaults. ``shown`` is the row as written, for evidence a clerk reads.
    """

    table: str  # the logic, which is also the file name without .csv
    line: int
    rule_code: str
    item_code: str
    other_code: str  # a pair table's second code; a ceiling's levels ("2;3"); else ""
    region: str  # "" for national, else a 6-digit pooling-area code
    effective_from: date
    effective_to: date | None
    shown: dict[str, str] = field(hash=False, compare=False)
    # What evidence() returns, made once by the loader (copied per hit, never changed).
    written: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    from_day: int = 0  # effective_from as an ordinal
    to_day: int = 0  # effective_to as an ordinal (OPEN_END when open)
    # restriction (and price_ceiling's levels)
    sex: str = ""
    age_min: int | None = None
    age_max: int | None = None
    indications: tuple[str, ...] = ()
    settings: frozenset[str] = frozenset()
    levels: frozenset[int] = frozenset()
    schemes: frozenset[str] = frozenset()
    # quantity
    max_per_day: int | None = None
    max_per_stay: int | None = None
    # course
    course_days: int = 0
    break_days: int = 0
    # frequency
    max_count: int = 0
    # price_ceiling
    ceiling_fen: int = 0
    # unbundling
    parts: tuple[str, ...] = ()
    package_fen: int = 0
    min_parts: int = 0

    def evidence(self) -> dict[str, str]:
        """The row as written, plus where it is (``restriction.csv:12``): a new dict each call."""
        written = self.written
        if written:
            return dict(written)
        return {"row": f"{self.table}.csv:{self.line}", **self.shown}


@dataclass(slots=True)
class KnowledgeEntry:
    """Every dated version of one knowledge key, national and regional.

    A key is (rule, item, other code). Versions are sorted by
    ``effective_from``; the one in force on a day is the latest that starts on
    or before it, unless its ``effective_to`` has passed. A region's own
    versions replace the national ones for claims treated in that region.
    """

    rule: Rule
    item_code: str
    other_code: str
    national: list[KnowledgeRow] = field(default_factory=list)
    regional: dict[str, list[KnowledgeRow]] = field(default_factory=dict)
    # Set by build_book for the per-claim hot path: the rule's claim contexts as
    # a bit mask (see claim_context), the rule's logic as a number (KIND), the
    # discharge days (ordinals) on which the rule is in force, and the row when
    # it is the only version, with those days narrowed to the row's own.
    contexts: int = 0
    kind: int = 0
    from_day: int = 0
    to_day: int = OPEN_END
    only: KnowledgeRow | None = None


@dataclass(frozen=True, slots=True)
class RedFlagCode:
    """A behavioural red flag of :mod:`detection.rules` given a catalogue code."""

    rule_code: str
    flag: str  # the code in detection.rules.RULES
    name: str
    result: str
    source: str


@dataclass(slots=True)
class RuleBook:
    """Rules and knowledge, indexed for evaluation.

    ``by_item`` maps an item code to the entries of every table keyed by it
    (for unbundling, by each part). ``tracked_codes`` are the codes whose use
    must be remembered across claims (frequency over a window longer than the
    claim, courses, prerequisites over N days); ``horizon_days`` how far back.
    """

    rules: dict[str, Rule]
    by_item: dict[str, list[KnowledgeEntry]]
    red_flags: dict[str, RedFlagCode]
    tracked_codes: frozenset[str]
    horizon_days: int
    row_count: int

    def red_flag_code(self, flag: str) -> str | None:
        """The catalogue code of a detection.rules red flag (``DUPLICATE_BILL``)."""
        entry = self.red_flags.get(flag)
        return entry.rule_code if entry else None


_CLAIM_TYPES = ("inpatient", "outpatient", "ltc")
# Final: compiled, claim_context (per claim) reads it from a C static, not the module's dict.
_CLAIM_TYPE_NUMBER: Final = {kind: number for number, kind in enumerate(_CLAIM_TYPES)}


def claim_context(claim_type: str, scheme: str, intercity: bool) -> int:
    """A claim's context as a bit number: claim type, scheme, inter-city or not (12 kinds)."""
    kind = _CLAIM_TYPE_NUMBER.get(claim_type, 0)
    return kind * 4 + (2 if scheme == "resident" else 0) + (1 if intercity else 0)


def rule_contexts(rule: Rule) -> int:
    """The bit mask of the claim contexts a rule runs on (scenario and schemes)."""
    mask = 0
    for kind in _CLAIM_TYPES:
        if kind not in rule.scenarios:
            continue
        for scheme in SCHEMES:
            if rule.schemes and scheme not in rule.schemes:
                continue
            mask |= 1 << claim_context(kind, scheme, False)
            if "intercity" in rule.scenarios:
                mask |= 1 << claim_context(kind, scheme, True)
    return mask


def build_book(
    rules: dict[str, Rule], rows: list[KnowledgeRow], red_flags: dict[str, RedFlagCode]
) -> RuleBook:
    """Group rows into dated entries and index them by item code (done once, at load).

    The caller (the loader) has already refused duplicate versions and rows
    naming an unknown rule.
    """
    entries: dict[tuple[str, str, str], KnowledgeEntry] = {}
    for row in rows:
        key = (row.rule_code, row.item_code, row.other_code)
        entry = entries.get(key)
        if entry is None:
            entry = KnowledgeEntry(rules[row.rule_code], row.item_code, row.other_code)
            entries[key] = entry
        if row.region:
            entry.regional.setdefault(row.region, []).append(row)
        else:
            entry.national.append(row)
    by_item: dict[str, list[KnowledgeEntry]] = {}
    tracked: set[str] = set()
    horizon = 0
    for entry in entries.values():
        entry.national.sort(key=lambda r: r.effective_from)
        for versions in entry.regional.values():
            versions.sort(key=lambda r: r.effective_from)
        rule = entry.rule
        entry.contexts = rule_contexts(rule)
        entry.kind = KIND[rule.logic]
        entry.from_day, entry.to_day = rule.from_day, rule.to_day
        if not entry.regional and len(entry.national) == 1:
            only = entry.only = entry.national[0]
            entry.from_day = max(entry.from_day, only.from_day)
            entry.to_day = min(entry.to_day, only.to_day)
        if rule.logic == "unbundling":
            parts: set[str] = set()
            for row in _all_rows(entry):
                parts.update(row.parts)
            for part in sorted(parts):
                by_item.setdefault(part, []).append(entry)
        else:
            by_item.setdefault(entry.item_code, []).append(entry)
        if rule.logic == "course":
            tracked.add(entry.item_code)
            horizon = max(horizon, max(r.break_days for r in _all_rows(entry)) + 1)
        elif rule.window.horizon_days and rule.logic in ("frequency", "prerequisite"):
            tracked.add(entry.other_code if rule.logic == "prerequisite" else entry.item_code)
            horizon = max(horizon, rule.window.horizon_days)
    for listed in by_item.values():  # a fixed order: hits come out the same every run
        listed.sort(key=lambda e: (e.rule.rule_code, e.item_code, e.other_code))
    if tracked:
        horizon += STAY_SLACK_DAYS
    return RuleBook(rules, by_item, red_flags, frozenset(tracked), horizon, len(rows))


def _all_rows(entry: KnowledgeEntry) -> list[KnowledgeRow]:
    rows = list(entry.national)
    for versions in entry.regional.values():
        rows.extend(versions)
    return rows


@dataclass(slots=True, init=False)
class RuleHit:
    """One rule broken by one claim: where, why, and how much money it puts at stake.

    Read-only by convention, not frozen, and with its own ``__init__``: compiled,
    a dataclass's generated ``__init__`` is interpreted code (a frozen one sets
    every field through ``object.__setattr__``), and a hit is built per broken line.
    """

    rule_code: str
    result: str  # certain / suspicious
    item_index: int  # 0-based line of the claim's items
    item_code: str
    amount_at_stake_fen: int
    evidence: dict[str, Any]

    def __init__(
        self,
        rule_code: str,
        result: str,
        item_index: int,
        item_code: str,
        amount_at_stake_fen: int,
        evidence: dict[str, Any],
    ) -> None:
        self.rule_code = rule_code
        self.result = result
        self.item_index = item_index
        self.item_code = item_code
        self.amount_at_stake_fen = amount_at_stake_fen
        self.evidence = evidence

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_code": self.rule_code,
            "result": self.result,
            "item_index": self.item_index,
            "item_code": self.item_code,
            "evidence": self.evidence,
            "amount_at_stake": format_fen(self.amount_at_stake_fen),
        }


def window_bounds(rule: Rule, day: int) -> tuple[int, int]:
    """First and last day (ordinals) of the rule's window around ``day``."""
    window = rule.window
    if window.kind == "month":
        served = date.fromordinal(day)
        first = served.replace(day=1)
        following = date(served.year + served.month // 12, served.month % 12 + 1, 1)
        return first.toordinal(), following.toordinal() - 1
    if window.kind == "days":
        return day - window.days + 1, day
    return day, day


def sex_and_age(person_id: str, admission: date) -> tuple[str, int]:
    """Sex (17th character: odd for men) and whole years at admission, from a valid number.

    A validated claim's number holds a real birth date (settlement refuses
    others), so the age is the whole years between the two dates written as
    YYYYMMDD numbers, ``(admitted - born) // 10000``, without building a date.
    """
    sex = "M" if int(person_id[16]) % 2 else "F"
    admitted = admission.year * 10000 + admission.month * 100 + admission.day
    return sex, (admitted - int(person_id[6:14])) // 10000
