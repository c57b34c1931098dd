"""Seeded document content: people, companies, addresses, dates, amounts, line items, prose.

Every function draws from the ``numpy.random.Generator`` it is given and nothing else, so a
document's content is a pure function of its seed.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

__all__ = [
    "person",
    "company",
    "address",
    "date_text",
    "draw_date",
    "money",
    "line_items",
    "sentences",
    "reference",
    "DATE_FORMATS",
]

_FIRST = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas",
    "Karin", "Lukas", "Marta", "Nils", "Olga", "Paul", "Rosa", "Simon", "Tara", "Umar",
    "Vera", "Walter", "Yara", "Zoe", "Amir", "Bea", "Carlos", "Dana", "Emil", "Fatima",
)  # fmt: skip
_LAST = (
    "Adler", "Becker", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ito",
    "Jansen", "Keller", "Larsen", "Moreau", "Novak", "Olsen", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Urban", "Vogel", "Weber", "Young", "Zimmer", "Berg", "Lindqvist",
)  # fmt: skip
_CO_A = (
    "Alder", "Brightline", "Cobalt", "Delta", "Evergreen", "Fjord", "Granite", "Harbor",
    "Iris", "Juniper", "Kestrel", "Lumen", "Meridian", "Northwind", "Orchid", "Pioneer",
)  # fmt: skip
_CO_B = ("Supplies", "Trading", "Logistics", "Systems", "Print", "Foods", "Office", "Tools")
_CO_C = ("Ltd", "GmbH", "& Co.", "Inc.", "S.A.", "AG", "LLC", "B.V.")
_STREETS = (
    "Oak", "Mill", "Station", "Church", "Garden", "Harbour", "Lake", "Market", "Park",
    "River", "School", "Bridge", "Castle", "Elm", "Hill", "King",
)  # fmt: skip
_STREET_KINDS = ("Street", "Road", "Avenue", "Lane", "Way", "Square")
_CITIES = (
    ("Bergen", "5003"), ("Bremen", "28195"), ("Ghent", "9000"), ("Lyon", "69002"),
    ("Porto", "4000-123"), ("Graz", "8010"), ("Turku", "20100"), ("Leeds", "LS1 4AP"),
    ("Utrecht", "3511 AB"), ("Basel", "4051"), ("Malmo", "211 20"), ("Verona", "37121"),
)  # fmt: skip
_ITEMS = (
    ("Printer paper A4, 500 sheets", 4.0, 9.0), ("Toner cartridge black", 35.0, 120.0),
    ("Ballpoint pens, box of 50", 6.0, 18.0), ("Desk lamp LED", 19.0, 65.0),
    ("Office chair", 89.0, 340.0), ("Consulting, hourly", 60.0, 180.0),
    ("USB-C cable 2 m", 5.0, 16.0), ("Monitor 27 inch", 160.0, 420.0),
    ("Filing cabinet", 70.0, 260.0), ("Coffee beans 1 kg", 11.0, 28.0),
    ("Delivery and handling", 5.0, 40.0), ("Software licence, 1 year", 49.0, 399.0),
    ("Whiteboard markers", 3.0, 12.0), ("Notebook, ruled", 2.0, 9.0),
    ("Keyboard wireless", 19.0, 89.0), ("Maintenance visit", 80.0, 250.0),
)  # fmt: skip
_SENTENCES = (
    "Thank you for your letter regarding the outstanding balance on our account.",
    "Please find enclosed the documents you requested at our last meeting.",
    "We confirm that the goods were delivered in full and in good condition.",
    "The amount will be transferred to the account stated below within fourteen days.",
    "Should you have any questions, do not hesitate to contact our office.",
    "We would appreciate a written confirmation of the revised delivery schedule.",
    "Our records show that the contract was renewed for a further twelve months.",
    "The inspection is planned for the first week of next month.",
    "Kindly note that our bank details have not changed.",
    "We regret any inconvenience the delay may have caused.",
    "A copy of the signed agreement is kept on file for your reference.",
    "The remaining items will be shipped as soon as they are back in stock.",
)
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%B %d, %Y", "%d %b %Y")


def _pick(rng: np.random.Generator, options: tuple):
    return options[int(rng.integers(len(options)))]


def person(rng: np.random.Generator) -> str:
    """A full name, e.g. ``Clara Moreau``."""
    return f"{_pick(rng, _FIRST)} {_pick(rng, _LAST)}"


def company(rng: np.random.Generator) -> str:
    """A company name, e.g. ``Cobalt Logistics GmbH``."""
    return f"{_pick(rng, _CO_A)} {_pick(rng, _CO_B)} {_pick(rng, _CO_C)}"


def address(rng: np.random.Generator) -> tuple[str, str]:
    """Two address lines: street with number, postcode and city."""
    street = f"{int(rng.integers(1, 200))} {_pick(rng, _STREETS)} {_pick(rng, _STREET_KINDS)}"
    city, code = _pick(rng, _CITIES)
    return street, f"{code} {city}"


def draw_date(rng: np.random.Generator) -> _dt.date:
    """A day between 2015-01-01 and 2025-12-31."""
    return _dt.date(2015, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 4017)))


def date_text(day: _dt.date, fmt: str) -> str:
    """``day`` written with ``fmt`` (one of DATE_FORMATS; English month names, locale-free)."""
    months = (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    )  # fmt: skip
    name = months[day.month - 1]
    text = fmt.replace("%B", name).replace("%b", name[:3])
    return (
        text.replace("%Y", f"{day.year:04d}")
        .replace("%m", f"{day.month:02d}")
        .replace("%d", f"{day.day:02d}")
    )


def money(cents: int, style: str = "en") -> str:
    """``cents`` as ``1,234.50`` (``en``) or ``1.234,50`` (``de``)."""
    whole, frac = divmod(abs(int(cents)), 100)
    text = f"{whole:,}.{frac:02d}"
    if style == "de":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return ("-" if cents < 0 else "") + text


def line_items(rng: np.random.Generator, n: int) -> list[tuple[str, int, int]]:
    """``n`` distinct line items: (description, quantity, unit price in cents)."""
    order = rng.permutation(len(_ITEMS))[:n]
    items = []
    for i in order:
        desc, lo, hi = _ITEMS[int(i)]
        qty = int(rng.integers(1, 6)) if hi < 100 else int(rng.integers(1, 3))
        items.append((desc, qty, int(round(float(rng.uniform(lo, hi)) * 100))))
    return items


def sentences(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` business sentences (distinct while the pool lasts)."""
    order = rng.permutation(len(_SENTENCES))
    return [_SENTENCES[int(order[i % len(order)])] for i in range(n)]


def reference(rng: np.random.Generator, prefix: str) -> str:
    """A document number such as ``INV-2023-0417``."""
    return f"{prefix}-{int(rng.integers(2015, 2026))}-{int(rng.integers(1, 10000)):04d}"
