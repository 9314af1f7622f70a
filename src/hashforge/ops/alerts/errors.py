"""The alerts part's errors: bad input says what and where in one line."""

from __future__ import annotations


class AlertsError(ValueError):
    """Bad input to the alerts part (a rule, channel, window or setting); the message is one line."""


class UnknownItem(AlertsError):
    """No rule, channel, alert or window with that id."""


class DeliveryError(Exception):
    """A notification could not be delivered (after the retries)."""


class PermanentDeliveryError(DeliveryError):
    """A failure that a retry cannot fix (bad credentials, refused recipient, HTTP 4xx): not retried."""
