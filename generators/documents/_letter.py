"""Letter (A4) and form (A5) layouts, in layout millimetres."""

from __future__ import annotations

import numpy as np

from . import _content as C
from ._invoice import place_logo, place_signature, place_stamp
from ._page import Page

__all__ = ["draw_letter", "draw_form"]


def _wrap(page: Page, words: list[str], family: str, pt: float, width_mm: float) -> list[str]:
    """Greedy word wrap to ``width_mm`` with the real advance widths."""
    lines, line = [], ""
    for word in words:
        trial = f"{line} {word}" if line else word
        if line and page.width_of(trial, family, pt) > width_mm:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def _too_short(kind: str, page: Page, need_mm: float) -> ValueError:
    msg = (
        f"{kind} page of {page.width_mm:.0f}x{page.height_mm:.0f} mm is too short for its "
        f"layout (needs {need_mm * page.scale:.0f} mm at this width); use a taller page_mm"
    )
    return ValueError(msg)


def draw_letter(page: Page, rng: np.random.Generator, st: dict) -> None:
    """A business letter: letterhead, recipient, date, subject, body, closing and signature."""
    f, fb = st["family"], st["bold"]
    bottom = page.bottom_mm
    if bottom < 170:
        raise _too_short("letter", page, 170)
    sender, signer, recipient = C.company(rng), C.person(rng), C.person(rng)
    place_logo(page, rng, sender, 20, 12, 16, st["accent"])
    page.text("seller_name", "name", sender, 40, 19, fb, 12, ink=st["accent"])
    street, city = C.address(rng)
    page.text("seller_address_1", "address", f"{street}, {city}", 40, 25, f, 8)
    page.text("recipient_name", "name", recipient, 20, 50, f, 10)
    for i, line in enumerate(C.address(rng)):
        page.text(f"recipient_address_{i + 1}", "address", line, 20, 55.5 + 5.5 * i, f, 10)
    page.text("letter_date", "date", C.date_text(C.draw_date(rng), st["date_format"]), 190, 50,
              f, 10, anchor="rs")  # fmt: skip
    page.text("reference", "text", f"Our ref. {C.reference(rng, 'REF')}", 190, 55.5, f, 8,
              anchor="rs")  # fmt: skip
    page.text("subject", "text", f"Re: invoice {C.reference(rng, 'INV')}", 20, 84, fb, 10.5)
    page.text("salutation", "text", f"Dear {recipient},", 20, 96, f, 10.5)
    y, n = 96.0, 0
    limit = bottom - 62
    for _ in range(int(rng.integers(2, 5))):
        words = " ".join(C.sentences(rng, int(rng.integers(2, 4)))).split()
        lines = _wrap(page, words, f, 10.5, 170)
        if y + 8 + 5.5 * (len(lines) - 1) > limit:
            break
        y += 3
        for line in lines:
            y += 5.5
            n += 1
            page.text(f"body_line_{n}", "text", line, 20, y, f, 10.5)
    page.text("closing", "text", "Yours sincerely,", 20, y + 12, f, 10.5)
    place_signature(page, rng, signer, 20, y + 15, 50, 18, st["pen"])
    page.text("signer_name", "name", signer, 20, y + 40, f, 10.5)
    page.text("signer_title", "text", str(rng.choice(["Head of Accounts", "Managing Director",
              "Customer Service", "Office Manager"])), 20, y + 45.5, f, 9)  # fmt: skip
    page.line(20, bottom - 16, 190, bottom - 16, 0.2, st["rule"])
    page.text("footer", "text", f"{sender} - registered office {city}", 105, bottom - 11, f, 7,
              anchor="ms")  # fmt: skip


_FORM_ROWS = (
    ("full_name", "name", "Full name"),
    ("date_of_birth", "date", "Date of birth"),
    ("street", "address", "Street"),
    ("city", "address", "Postcode, city"),
    ("phone", "text", "Phone"),
    ("id_number", "text", "ID number"),
    ("amount", "amount", "Amount claimed"),
    ("form_date", "date", "Date"),
)


def _form_values(rng: np.random.Generator, st: dict) -> dict:
    street, city = C.address(rng)
    return {
        "full_name": C.person(rng),
        "date_of_birth": C.date_text(
            C.draw_date(rng).replace(year=int(rng.integers(1950, 2004))), st["date_format"]
        ),  # fmt: skip
        "street": street,
        "city": city,
        "phone": f"+{int(rng.integers(30, 50))} {int(rng.integers(100, 999))} "
        f"{int(rng.integers(1000000, 9999999))}",
        "id_number": f"{chr(65 + int(rng.integers(26)))}{int(rng.integers(10**7, 10**8))}",
        "amount": f"{C.money(int(rng.integers(500, 500000)), st['money'])} {st['currency']}",
        "form_date": C.date_text(C.draw_date(rng), st["date_format"]),
    }


def draw_form(page: Page, rng: np.random.Generator, st: dict) -> None:
    """An A5 claim form: labelled boxes filled in, two tick boxes, signature and a stamp."""
    f, fb = st["family"], st["bold"]
    bottom = page.bottom_mm
    if bottom < 120:
        raise _too_short("form", page, 120)
    title = str(rng.choice(["CLAIM FORM", "APPLICATION FORM", "REGISTRATION FORM"]))
    owner = C.company(rng)
    place_logo(page, rng, owner, 12, 8, 12, st["accent"])
    page.text("title", "text", title, 74, 17, fb, 13, anchor="ms")
    page.text("form_number", "text", C.reference(rng, "F"), 136, 26, f, 7, anchor="rs")
    filled = "mono" if rng.random() < 0.5 else st["italic"]
    values = _form_values(rng, st)
    capacity = int((bottom - 36 - 62) // 9) + 1
    y = 36.0
    for name, kind, label in _FORM_ROWS[: max(1, min(len(_FORM_ROWS), capacity))]:
        page.text(f"label_{name}", "text", label, 12, y, f, 7.5)
        page.rect(48, y - 5.2, 136, y + 1.8, 0.2, st["rule"])
        page.text(name, kind, values[name], 50, y, filled, 9)
        y += 9
    choices = ("Bank transfer", "Cheque")
    ticked = int(rng.integers(2))
    for i, label in enumerate(choices):
        x = 12 + 45 * i
        page.rect(x, y - 3.4, x + 3.6, y + 0.2, 0.2)
        page.text(f"label_payment_{i + 1}", "text", label, x + 5.5, y, f, 7.5)
        if i == ticked:
            page.text(f"check_payment_{i + 1}", "text", "X", x + 1.8, y - 0.5, fb, 8, anchor="ms")
    y += 10
    page.text("declaration", "text", "I confirm that the information above is correct.", 12, y,
              f, 7)  # fmt: skip
    page.line(80, y + 24, 136, y + 24, 0.2)
    page.text("label_signature", "text", "Signature", 80, y + 28, f, 7)
    place_signature(page, rng, values["full_name"], 82, y + 6, 48, 17, st["pen"])
    place_stamp(page, rng, "RECEIVED", C.date_text(C.draw_date(rng), "%d.%m.%Y"), 18, y + 6, 26,
                st["stamp"])  # fmt: skip
