"""Qt side of the kiosk: views lay out widgets, controllers connect them to ``kiosk.core``."""
