"""Saying something to a screen reader: a Qt accessibility announcement (AT-SPI's
``object:announcement`` on Linux, what Orca speaks)."""

from __future__ import annotations

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QWidget

from kiosk.core.announcements import Announcement


def announce(widget: QWidget, announcement: Announcement) -> None:
    event = QAccessibleAnnouncementEvent(widget, announcement.text)
    event.setPoliteness(
        QAccessible.AnnouncementPoliteness.Assertive
        if announcement.assertive
        else QAccessible.AnnouncementPoliteness.Polite
    )
    QAccessible.updateAccessibility(event)
