"""Invoice (A4) and till receipt (80 mm roll) layouts, in layout millimetres."""

from __future__ import annotations

import datetime

import numpy as np

from . import _content as C
from ._marks import logo, signature, stamp
from ._page import Page

__all__ = ["draw_invoice", "draw_receipt", "receipt_height_mm"]


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split()[:2]).upper()


def place_logo(page: Page, rng, company: str, x_mm, y_mm, size_mm, colour, anchor="l") -> None:
    """The company logo with its top-left (or top-centre, ``anchor='m'``) at (x_mm, y_mm)."""
    seed = int(rng.integers(2**31))
    alpha, params = logo(seed, _initials(company), page.px(size_mm))
    left = page.px(x_mm) - (alpha.shape[1] // 2 if anchor == "m" else 0)
    page.mark("logo", "logo", company, alpha, page.px(y_mm), left, colour, params)


def place_signature(page: Page, rng, who: str, x_mm, y_mm, w_mm, h_mm, colour) -> None:
    """A signature stroke in the box whose top-left is (x_mm, y_mm)."""
    seed = int(rng.integers(2**31))
    alpha, params = signature(seed, page.px(w_mm), page.px(h_mm))
    page.mark("signature", "signature", who, alpha, page.px(y_mm), page.px(x_mm), colour, params)


def place_stamp(page: Page, rng, text: str, sub: str, x_mm, y_mm, d_mm, colour) -> None:
    """An ink stamp whose top-left is near (x_mm, y_mm)."""
    seed = int(rng.integers(2**31))
    alpha, params = stamp(seed, text, sub, page.px(d_mm))
    page.mark(
        "stamp", "stamp", f"{text} {sub}", alpha, page.px(y_mm), page.px(x_mm), colour, params
    )


def _header(page: Page, rng, st: dict, seller: str) -> None:
    f, fb = st["family"], st["bold"]
    place_logo(page, rng, seller, 18, 12, 18, st["accent"])
    page.text("seller_name", "name", seller, 40, 19, fb, 13)
    for i, line in enumerate(C.address(rng)):
        page.text(f"seller_address_{i + 1}", "address", line, 40, 25 + 5 * i, f, 9)
    page.text("title", "text", "INVOICE", 192, 22, fb, 20, anchor="rs", ink=st["accent"])
    day = C.draw_date(rng)
    due = day + datetime.timedelta(days=int(rng.choice([14, 30, 45])))
    rows = (
        ("invoice_number", "text", "Invoice no.", C.reference(rng, "INV")),
        ("invoice_date", "date", "Date", C.date_text(day, st["date_format"])),
        ("due_date", "date", "Due date", C.date_text(due, st["date_format"])),
    )
    for i, (name, kind, label, value) in enumerate(rows):
        y = 38 + 6 * i
        page.text(f"label_{name}", "text", label, 130, y, f, 9)
        page.text(name, kind, value, 192, y, f, 9, anchor="rs")
    page.text("label_bill_to", "text", "Bill to", 18, 60, fb, 10)
    page.text("customer_name", "name", C.person(rng), 18, 66, f, 10)
    for i, line in enumerate(C.address(rng)):
        page.text(f"customer_address_{i + 1}", "address", line, 18, 71 + 5 * i, f, 10)


def _table(page: Page, rng, st: dict, top: float, rows: int) -> tuple[float, int]:
    """The item table from ``top``; returns (the y below it, the subtotal in cents)."""
    f, fb, cur, ms = st["family"], st["bold"], st["currency"], st["money"]
    cols = (("Description", 20, "ls"), ("Qty", 122, "rs"), ("Unit price", 157, "rs"),
            ("Amount", 190, "rs"))  # fmt: skip
    page.rect(18, top, 192, top + 8, 0.25, fill=st["shade"])
    for label, x, anchor in cols:
        page.text(f"header_{label.lower().replace(' ', '_')}", "text", label, x, top + 5.6, fb, 9,
                  anchor=anchor)  # fmt: skip
    subtotal, y = 0, top + 8
    for i, (desc, qty, unit) in enumerate(C.line_items(rng, rows)):
        y += 7
        total = qty * unit
        subtotal += total
        page.text(f"item_{i + 1}_description", "table_cell", desc, 20, y - 2, f, 9)
        page.text(f"item_{i + 1}_qty", "table_cell", str(qty), 122, y - 2, f, 9, anchor="rs")
        page.text(f"item_{i + 1}_unit_price", "amount", C.money(unit, ms), 157, y - 2, f, 9,
                  anchor="rs")  # fmt: skip
        page.text(f"item_{i + 1}_amount", "amount", C.money(total, ms), 190, y - 2, f, 9,
                  anchor="rs")  # fmt: skip
        page.line(18, y, 192, y, 0.12, st["rule"])
    page.text("label_currency", "text", f"All amounts in {cur}", 18, y + 6, f, 8)
    return y, subtotal


def draw_invoice(page: Page, rng: np.random.Generator, st: dict) -> None:
    """An A4 invoice: logo, seller, numbers and dates, bill-to, item table, totals, signature."""
    f, fb, ms = st["family"], st["bold"], st["money"]
    seller = C.company(rng)
    _header(page, rng, st, seller)
    bottom = page.bottom_mm
    capacity = int((bottom - 70 - 96) // 7)
    if capacity < 1:
        msg = (
            f"invoice page of {page.width_mm:.0f}x{page.height_mm:.0f} mm is too short for one "
            "table row; use page_mm with a height of at least 0.75 x the width"
        )
        raise ValueError(msg)
    rows = min(int(rng.integers(3, 9)), capacity)
    y, subtotal = _table(page, rng, st, 88, rows)
    rate = int(rng.choice([0, 7, 10, 19, 20, 21]))
    tax = int(round(subtotal * rate / 100))
    lines = (("subtotal", "Subtotal", subtotal, f), ("tax", f"Tax {rate}%", tax, f),
             ("total", "Total", subtotal + tax, fb))  # fmt: skip
    for i, (name, label, cents, fam) in enumerate(lines):
        yy = y + 7 + 6 * i
        page.text(f"label_{name}", "text", label, 140, yy, fam, 10)
        page.text(name, "amount", C.money(cents, ms), 190, yy, fam, 10, anchor="rs")
    page.line(138, y + 21.5, 192, y + 21.5, 0.3)
    page.text("payment_terms", "text", "Payment within 30 days to the account below.", 18,
              bottom - 52, f, 8)  # fmt: skip
    iban = f"IBAN DE{int(rng.integers(10, 99))} {int(rng.integers(10**7, 10**8))} " + str(
        int(rng.integers(10**9, 10**10))
    )
    page.text("bank_account", "text", iban, 18, bottom - 47, f, 8)
    page.text("label_signature", "text", "Authorised signature", 130, bottom - 18, f, 8)
    page.line(128, bottom - 23, 190, bottom - 23, 0.2)
    place_signature(page, rng, C.person(rng), 132, bottom - 42, 52, 20, st["pen"])
    place_stamp(page, rng, str(rng.choice(["PAID", "APPROVED", "CHECKED"])),
                C.date_text(C.draw_date(rng), "%d.%m.%Y"), 92, bottom - 48, 28, st["stamp"])  # fmt: skip


def receipt_height_mm(items: int) -> float:
    """The roll length an ``items``-line receipt needs (layout millimetres)."""
    return 62 + 5 * items + 38


def draw_receipt(page: Page, rng: np.random.Generator, st: dict, items: int) -> None:
    """A till receipt on an 80 mm roll in a monospaced font: store, items, total, payment."""
    f, fb, ms, mid, right = "mono", "mono-bold", st["money"], 40, 74
    store = C.company(rng)
    place_logo(page, rng, store, mid, 4, 12, st["ink"], anchor="m")
    page.text("seller_name", "name", store, mid, 22, fb, 9, anchor="ms")
    for i, line in enumerate(C.address(rng)):
        page.text(f"seller_address_{i + 1}", "address", line, mid, 27 + 4 * i, f, 8, anchor="ms")
    day = C.draw_date(rng)
    clock = f"{int(rng.integers(7, 22)):02d}:{int(rng.integers(60)):02d}"
    page.text("receipt_date", "date", C.date_text(day, st["date_format"]), 6, 42, f, 8)
    page.text("receipt_time", "text", clock, right, 42, f, 8, anchor="rs")
    page.text("receipt_number", "text", C.reference(rng, "R"), 6, 46.5, f, 8)
    page.line(6, 49, right, 49, 0.2)
    total, y = 0, 50
    for i, (desc, qty, unit) in enumerate(C.line_items(rng, items)):
        y += 5
        label = (f"{qty} x " if qty > 1 else "") + desc
        label = label if len(label) <= 26 else label[:25] + "."
        page.text(f"item_{i + 1}_description", "table_cell", label, 6, y, f, 8)
        page.text(f"item_{i + 1}_amount", "amount", C.money(qty * unit, ms), right, y, f, 8,
                  anchor="rs")  # fmt: skip
        total += qty * unit
    page.line(6, y + 3, right, y + 3, 0.2)
    page.text("label_total", "text", f"TOTAL {st['currency']}", 6, y + 9, fb, 10)
    page.text("total", "amount", C.money(total, ms), right, y + 9, fb, 10, anchor="rs")
    paid = str(rng.choice(["CARD", "CASH"]))
    page.text("payment_method", "text", f"Paid by {paid}", 6, y + 15, f, 8)
    page.text("footer", "text", "Thank you for your visit!", mid, y + 24, f, 8, anchor="ms")
