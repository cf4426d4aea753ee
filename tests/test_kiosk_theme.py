"""The kiosk's themes and text scale: WCAG 2.1 contrast of every colour pair the style sheets
draw, measured on the sheets as applied, and fonts that grow with kiosk.toml's text_scale.

How colours are paired. The sheets are parsed into rules; each rule's last selector part
(``QPushButton#next_button:focus``, ``QListWidget::item:selected``) names a *subject* (a
widget type, id and subcontrol, with the selector's context) and states. For every subject
and every combination of the states any matching rule mentions (except disabled with focus,
which Qt never shows together), the properties are resolved as Qt does: every matching rule,
by specificity and then by order, later rules winning. A subject's text is then measured
against its own background, or, when it sets none, against the background of what it is
drawn on (``CONTAINER``): the screen for widgets, the list for its items, the main window for
the screen. Selection text is measured against the selection background, placeholder text
against the field, and a focus border against both the control and what surrounds it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PySide6 import QtWidgets
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QFontInfo
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.core.config import THEMES
from kiosk.ui.style import apply_style, style_sheet
from kiosk.ui.views.main_window import MainWindow

AA = 4.5  # WCAG 2.1 success criterion 1.4.3, normal text

# --- WCAG 2.1 contrast --------------------------------------------------------------------


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rgb`` or ``#rrggbb``."""
    digits = colour.removeprefix("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)

    def linear(channel: int) -> float:
        value = channel / 255
        # WCAG 2.1 writes 0.03928 (sRGB's is 0.04045): no 8-bit value falls between the two.
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_ratio_matches_known_values() -> None:
    assert contrast_ratio("#000", "#fff") == pytest.approx(21.0)
    assert contrast_ratio("#fff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777", "#fff") == pytest.approx(4.48, abs=0.005)
    assert contrast_ratio("#777777", "#ffffff") < AA  # the classic near miss
    assert contrast_ratio("#767676", "#ffffff") >= AA  # and the grey that passes
    assert contrast_ratio("#abcdef", "#abcdef") == pytest.approx(1.0)


# --- the style sheets as Qt reads them ----------------------------------------------------

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_COMPOUND = re.compile(
    r"^(?P<type>\*|[A-Za-z]\w*)?(?:#(?P<id>\w+))?(?:::(?P<sub>[\w-]+))?(?P<states>(?::!?[\w-]+)*)$"
)
_HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
# Colour properties, and the name each is resolved under (background-color is background).
_COLOUR_PROPERTY = {
    "color": "color",
    "background": "background",
    "background-color": "background",
    "selection-color": "selection-color",
    "selection-background-color": "selection-background",
    "placeholder-text-color": "placeholder",
    "border": "border",
    "border-color": "border",
}
_NO_COLOUR = {"none", "transparent"}
_BORDER_WORDS = {"solid", "dashed", "dotted", "double", "groove", "ridge", "inset", "outset"}


@dataclass(frozen=True)
class Subject:
    context: str  # the selector before the last part, e.g. "QStackedWidget >"
    type: str
    id: str = ""
    sub: str = ""

    def __str__(self) -> str:
        name = f"{self.type}{'#' + self.id if self.id else ''}{'::' + self.sub if self.sub else ''}"
        return f"{self.context} {name}".strip()


@dataclass(frozen=True)
class Rule:
    subject: Subject
    states: frozenset[str]  # "hover", "!active", ...
    specificity: tuple[int, int, int]
    order: int
    colours: dict[str, str | None]  # resolved name -> "#rrggbb", or None for none/transparent


def parse(sheet: str) -> list[Rule]:
    rules = []
    for order, (selectors, body) in enumerate(_RULE.findall(_COMMENT.sub("", sheet))):
        colours = _colours(body, selectors.strip())
        for selector in selectors.split(","):
            parts = selector.replace(">", " > ").split()
            compounds = [_compound(part, selector) for part in parts if part != ">"]
            last = compounds[-1]
            subject = Subject(
                context=" ".join(parts[:-1]),
                type=last["type"] or "*",
                id=last["id"] or "",
                sub=last["sub"] or "",
            )
            states = frozenset(state for state in last["states"].split(":") if state)
            rules.append(Rule(subject, states, _specificity(compounds), order, colours))
    return rules


def _compound(text: str, selector: str) -> re.Match[str]:
    match = _COMPOUND.match(text)
    assert match, f"cannot read the selector {selector.strip()!r}"
    return match


def _specificity(compounds: list[re.Match[str]]) -> tuple[int, int, int]:
    """CSS 2 specificity, by which Qt ranks rules: ids, then states, then types and
    subcontrols."""
    return (
        sum(bool(c["id"]) for c in compounds),
        sum(c["states"].count(":") for c in compounds),
        sum(c["type"] not in (None, "*") for c in compounds)
        + sum(bool(c["sub"]) for c in compounds),
    )


def _colours(body: str, where: str) -> dict[str, str | None]:
    colours: dict[str, str | None] = {}
    for declaration in body.split(";"):
        name, _, value = (part.strip() for part in declaration.partition(":"))
        if name not in _COLOUR_PROPERTY:
            continue
        found = _HEX.findall(value)
        if found:
            colours[_COLOUR_PROPERTY[name]] = _six_digits(found[-1])
            continue
        # No #hex: only "none", "transparent", or a border of widths and styles alone.
        words = set(value.lower().split())
        if name == "border":
            words = {word for word in words - _BORDER_WORDS if not re.fullmatch(r"\d+px", word)}
        if not words <= _NO_COLOUR:
            # rgb(), palette() or a colour name: this test measures #hex colours only.
            raise AssertionError(f"{where}: {name}: {value!r} is not a #hex colour")
        colours[_COLOUR_PROPERTY[name]] = None
    return colours


def _six_digits(colour: str) -> str:
    digits = colour.lower().removeprefix("#")
    return "#" + ("".join(d * 2 for d in digits) if len(digits) == 3 else digits)


def _is_a(subject_type: str, rule_type: str) -> bool:
    if rule_type == "*":
        return True
    widget_class = getattr(QtWidgets, subject_type, None)
    names = [c.__name__ for c in widget_class.__mro__] if widget_class else [subject_type]
    return rule_type in names


def _applies(rule: Rule, subject: Subject) -> bool:
    """Whether ``rule`` reaches ``subject`` in some state. A rule with a context reaches
    only subjects with the same context: these sheets need no more than that."""
    target = rule.subject
    return (
        target.context in ("", subject.context)
        and _is_a(subject.type, target.type)
        and target.id in ("", subject.id)
        and target.sub == subject.sub
    )


def resolve(rules: list[Rule], subject: Subject, states: frozenset[str]) -> dict[str, str | None]:
    """The colours ``subject`` is drawn with in ``states``."""
    resolved: dict[str, str | None] = {}
    matching = [
        rule
        for rule in rules
        if _applies(rule, subject)
        and all((s[1:] not in states) if s.startswith("!") else (s in states) for s in rule.states)
    ]
    for rule in sorted(matching, key=lambda r: (r.specificity, r.order)):
        resolved.update(rule.colours)
    return resolved


def state_combinations(rules: list[Rule], subject: Subject) -> Iterator[frozenset[str]]:
    mentioned = sorted(
        {s.lstrip("!") for rule in rules if _applies(rule, subject) for s in rule.states}
    )
    for count in range(len(mentioned) + 1):
        for states in itertools.combinations(mentioned, count):
            if not {"disabled", "focus"} <= set(states):
                yield frozenset(states)


SCREEN = Subject("QStackedWidget >", "QWidget")
WINDOW = Subject("", "QMainWindow")
# What each subject is drawn on when it sets no background of its own (see the docstring);
# None: it must set one (a window, and a combo box's list, which opens as a window).
CONTAINER: dict[Subject, Subject | None] = {
    WINDOW: None,
    SCREEN: WINDOW,
    Subject("QComboBox", "QAbstractItemView"): None,
    Subject("", "QListWidget", sub="item"): Subject("", "QListWidget"),
    Subject("", "QProgressBar", sub="chunk"): Subject("", "QProgressBar"),
}
# Widgets that draw text of their own: in the high-contrast theme each must name its
# colour, not leave it to the platform's palette.
TEXT_TYPES = {"QLabel", "QPushButton", "QLineEdit", "QComboBox", "QAbstractItemView", "QListWidget"}


@dataclass(frozen=True)
class Pair:
    what: str
    foreground: str
    background: str

    @property
    def ratio(self) -> float:
        return contrast_ratio(self.foreground, self.background)

    def __str__(self) -> str:
        return f"{self.what}: {self.foreground} on {self.background} is {self.ratio:.2f}:1"


def colour_pairs(sheet: str) -> tuple[list[Pair], list[str]]:
    """Every text-on-background pair ``sheet`` draws, and the subjects whose text colour the
    sheet leaves to the platform (so they cannot be measured here)."""
    rules = parse(sheet)
    subjects = sorted({rule.subject for rule in rules}, key=str)
    pairs: list[Pair] = []
    unmeasured: list[str] = []

    def container_colours(subject: Subject) -> dict[str, str | None]:
        container = CONTAINER.get(subject, SCREEN)
        return {} if container is None else resolve(rules, container, frozenset())

    for subject in subjects:
        outside = container_colours(subject)
        for states in state_combinations(rules, subject):
            what = str(subject) + "".join(f":{s}" for s in sorted(states))
            own = resolve(rules, subject, states)
            background = own.get("background") or outside.get("background")
            colour = own.get("color") or (outside.get("color") if subject.sub else None)
            if background is None:
                unmeasured.append(f"{what}: no background")
                continue
            if colour is not None:
                pairs.append(Pair(f"{what} text", colour, background))
            elif subject.type in TEXT_TYPES and not subject.sub:
                unmeasured.append(f"{what}: text colour from the palette")
            selected, selection = own.get("selection-color"), own.get("selection-background")
            if selected and selection:
                pairs.append(Pair(f"{what} selected text", selected, selection))
            if placeholder := own.get("placeholder"):
                pairs.append(Pair(f"{what} placeholder", placeholder, background))
            if "focus" in states and (ring := own.get("border")):
                pairs.append(Pair(f"{what} focus border, inside", ring, background))
                if around := outside.get("background"):
                    pairs.append(Pair(f"{what} focus border, around", ring, around))
    return pairs, unmeasured


def test_every_pair_in_the_high_contrast_theme_passes_aa() -> None:
    pairs, unmeasured = colour_pairs(style_sheet(theme="high-contrast"))
    assert not unmeasured, "\n".join(unmeasured)
    failing = [str(pair) for pair in pairs if pair.ratio < AA]
    assert not failing, "\n".join(failing)
    # Every kind of pair was found (a parser that finds nothing passes everything).
    kinds = {pair.what.rsplit(" ", 1)[-1] for pair in pairs}
    assert {"text", "placeholder", "inside", "around"} <= kinds, kinds
    assert any(":disabled" in pair.what for pair in pairs)
    assert min(pairs, key=lambda pair: pair.ratio).ratio >= AA


@pytest.mark.parametrize(
    ("added", "caught"),
    [
        ("QLabel { color: #777; }", "QLabel text: #777777 on #ffffff is 4.48:1"),
        # Only a colour: measured on the screen it is drawn on, which the theme makes white.
        ("QPushButton#exit_button { color: #777777; }", "QPushButton#exit_button text: #777777"),
        ("QLineEdit { placeholder-text-color: #949494; }", "QLineEdit placeholder: #949494"),
        ("QLineEdit:focus { border: 4px solid #c0c0ff; }", "QLineEdit:focus focus border"),
        ("QPushButton:disabled { color: #aaaaaa; }", "QPushButton:disabled text: #aaaaaa"),
    ],
)
def test_a_pair_below_aa_laid_over_the_theme_is_caught(added: str, caught: str) -> None:
    pairs, _ = colour_pairs(style_sheet(theme="high-contrast") + "\n" + added)
    failing = [str(pair) for pair in pairs if pair.ratio < AA]
    assert any(line.startswith(caught) for line in failing), "\n".join(failing)


def test_a_general_rule_does_not_recolour_a_more_specific_one() -> None:
    pairs, _ = colour_pairs(style_sheet(theme="high-contrast") + "\nQPushButton { color: #777; }")
    colours = {pair.what: pair.foreground for pair in pairs}
    assert colours["QPushButton text"] == "#777777"
    # The main buttons' own rules outrank it, wherever it comes in the sheet (as in Qt).
    assert colours["QPushButton#next_button text"] == "#ffffff"


# The standard theme is kept as it looked before the high-contrast one, and these of its
# pairs are below 4.5:1. Disabled text is exempt from WCAG 1.4.3. The yellow focus ring of
# the main buttons is not text (1.4.11 asks 3:1 of it), but on the page it has 1.70:1.
STANDARD_BELOW_AA = {
    "QPushButton:disabled text: #7a8089 on #e3e6ea",
    "QPushButton:disabled:hover text: #7a8089 on #e3e6ea",
    "QPushButton#sign_in_button:focus focus border, inside: #f2b705 on #0b5cd5",
    "QPushButton#sign_in_button:focus focus border, around: #f2b705 on #f6f7f9",
    "QPushButton#sign_in_button:focus:hover focus border, inside: #f2b705 on #094bb0",
    "QPushButton#sign_in_button:focus:hover focus border, around: #f2b705 on #f6f7f9",
}


def test_the_standard_theme_pairs_below_aa_are_the_known_ones() -> None:
    pairs, _ = colour_pairs(style_sheet())
    failing = {str(pair).rsplit(" is ", 1)[0] for pair in pairs if pair.ratio < AA}
    # The six main buttons share their rules: one stands for all.
    ids = ("submit_sign_in_button", "launch_button", "choose_button", "start_button", "next_button")
    failing = {line for line in failing if not any(f"#{i}:" in line for i in ids)}
    assert failing == STANDARD_BELOW_AA


# --- the themes and scale on real windows --------------------------------------------------


def _window(qtbot: object) -> MainWindow:
    window = MainWindow("leeds-seat-07", "Leeds test center")
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.resize(1366, 768)
    window.show()
    return window


def _drawn_colours(widget: QWidget, area: QRect | None = None) -> list[str]:
    """The colours of ``widget``'s pixels (in ``area``) as drawn, most common first."""
    image = widget.grab(area or QRect(QPoint(0, 0), widget.size())).toImage()
    counts: dict[str, int] = {}
    for x, y in itertools.product(range(image.width()), range(image.height())):
        name = QColor(image.pixel(x, y)).name()
        counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda name: -counts[name])


@pytest.mark.qt_window
def test_every_theme_has_its_sheet(app: QApplication) -> None:
    for theme in THEMES:
        apply_style(app, 1.0, theme)
        assert app.styleSheet() == style_sheet(1.0, theme)
    with pytest.raises(ValueError, match="unknown theme 'dark'"):
        apply_style(app, 1.0, "dark")


@pytest.mark.qt_window
def test_high_contrast_colours_are_the_ones_qt_draws(app: QApplication, qtbot: object) -> None:
    """The parsed cascade above agrees with Qt on what wins: pixels of real widgets."""
    apply_style(app, 1.0, "high-contrast")
    window = _window(qtbot)
    app.processEvents()
    locked = window.locked
    assert _drawn_colours(locked, QRect(0, 0, 60, 60)) == ["#ffffff"]  # the page
    primary = locked.sign_in_button
    assert _drawn_colours(primary)[0] == "#000000"
    assert "#ffffff" in _drawn_colours(primary)[:3]
    assert _drawn_colours(locked.exit_button)[0] == "#ffffff"
    # Disabled, a main button turns white with grey text (kiosk.qss keeps it blue).
    primary.setEnabled(False)
    disabled = _drawn_colours(primary)
    assert disabled[0] == "#ffffff"
    assert "#595959" in disabled[:3]


@pytest.mark.qt_window
def test_the_views_own_colours_pass_aa_on_the_high_contrast_screen(
    app: QApplication, qtbot: object
) -> None:
    """Errors and countdown warnings are coloured by the views themselves (a widget's own
    sheet outranks the application's), so they are measured on the windows."""
    sheet = style_sheet(theme="high-contrast")
    screen = resolve(parse(sheet), SCREEN, frozenset())["background"]
    assert screen is not None
    apply_style(app, 1.0, "high-contrast")
    window = _window(qtbot)
    pairs: set[Pair] = set()
    for warning in (30, 10):
        window.interview.show_clock("0:25", warning)
        for widget in window.findChildren(QWidget):
            for colour in re.findall(
                r"(?<![-\w])color\s*:\s*(#[0-9a-fA-F]{3,6})", widget.styleSheet()
            ):
                pairs.add(Pair(widget.objectName(), _six_digits(colour), screen))
    assert {pair.what for pair in pairs} >= {
        "message_label", "recording_label", "timer_label", "warning_label"
    }  # fmt: skip
    failing = [str(pair) for pair in pairs if pair.ratio < AA]
    assert not failing, "\n".join(failing)


@pytest.mark.qt_window
def test_text_scale_multiplies_every_font(app: QApplication, qtbot: object) -> None:
    sizes = {}
    for text_scale in (1.0, 1.5):
        apply_style(app, text_scale)
        window = _window(qtbot)
        window.stack.setCurrentWidget(window.interview)
        app.processEvents()
        question = window.interview.question_label.font()
        sizes[text_scale] = {
            # Set by the view in points, scaled as the widget is first polished.
            "question points": question.pointSizeF(),
            "question pixels": QFontInfo(question).pixelSize(),
            "button points": window.interview.next_button.font().pointSizeF(),
            # Set by the style sheet in pixels.
            "field pixels": window.sign_in.email_edit.font().pixelSize(),
            "application points": app.font().pointSizeF(),
        }
    standard, large = sizes[1.0], sizes[1.5]
    assert standard["question points"] == 28
    assert standard["field pixels"] == 18
    for name in ("question points", "button points", "application points"):
        assert large[name] == pytest.approx(standard[name] * 1.5), name
    assert large["field pixels"] == 27
    # What is drawn: whole pixels, so within one of 1.5 times.
    assert abs(large["question pixels"] - 1.5 * standard["question pixels"]) <= 1
