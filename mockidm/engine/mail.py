"""Mail tasks (`activiti:type="mail"`): the mail they send, as MailActivityBehavior builds it.

The mock has no mail server: a mail task records its mail instead of sending it, where a test
can read it (`MockIDM.sent_mails()`, `GET /__mockidm/mails`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .errors import EngineError
from .expressions import JAVA_TRIM

# ProcessEngineConfigurationImpl.mailServerDefaultFrom: the sender when the task names none.
DEFAULT_FROM = "activiti@localhost"


@dataclass(frozen=True)
class SentMail:
    instance_id: str
    activity_id: str
    time: datetime
    to: tuple[str, ...]
    sender: str
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    subject: str
    text: str | None
    html: str | None
    charset: str | None


def compose(field: Callable[[str], str | None], instance_id: str, activity_id: str,
            time: datetime) -> SentMail:
    """The mail of a task whose field `name` has the text `field(name)` (None when unset),
    fields read in MailActivityBehavior's order; EngineError with its message when it
    cannot be sent."""
    to, sender, cc, bcc = field("to"), field("from"), field("cc"), field("bcc")
    subject = field("subject")
    text, html, charset = field("text"), field("html"), field("charset")
    if html is None and text is None:
        raise EngineError("'html' or 'text' is required to be defined when using the mail "
                          "activity")
    if to is None:
        raise EngineError("No recipient could be found for sending email")
    return SentMail(instance_id, activity_id, time, _split(to),
                    sender if sender is not None else DEFAULT_FROM, _split(cc), _split(bcc),
                    subject or "", text, html, charset)


def _split(text: str | None) -> tuple[str, ...]:
    """splitAndTrim: String.split(",") (trailing empty parts dropped), each part trimmed."""
    if text is None:
        return ()
    parts = text.split(",")
    while parts and not parts[-1]:
        parts.pop()
    return tuple(part.strip(JAVA_TRIM) for part in parts)
