"""HTML written in Python for what a page repeats per item: an idea's or comment's vote buttons and links.

Topic and idea pages show up to 20 ideas, or 20 comments and their replies, each with a count and two vote
forms. As a Jinja macro this was a sixth of a topic page's rendering (the macro call, ~30 attribute look-ups
and escapes per item); here it is one string format. Every value from outside is escaped with markupsafe, as
Jinja's autoescape would; the templates call it as `vote_buttons(...)` (a global, templating.init_app).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import url_for
from markupsafe import Markup, escape

from . import publicids
from .models import GATHERED
from .services.challenge import VOTE_WORDS

_OFFLINE_TAGS = {"workshop": "Workshop contribution", "paper": "Paper contribution", "phone": "Phone contribution"}
# Gathered offline: left out of vote-based support, so no votes and no support figure (issue 7).
_OFFLINE = (
    '\n\n\n<div class="consult-offline nhsuk-u-margin-bottom-3"><strong class="nhsuk-tag nhsuk-tag--grey">{tag}'
    '</strong>\n  <p class="nhsuk-body-s nhsuk-u-margin-top-2 nhsuk-u-margin-bottom-0">Gathered {where} and '
    'entered by a facilitator. It is not voted on, so it has no support figure; it is read and analysed like '
    'every other contribution.</p></div>\n\n'
)
_COUNTS = (
    '\n\n\n<div class="consult-votes" data-vote-kind="{kind}" data-vote-id="{pid}" data-vote-said-up="{said_up}"'
    ' data-vote-said-down="{said_down}">\n'
    '  <p class="consult-votes__counts nhsuk-body-s" aria-live="polite">\n'
    '    <span data-vote-up>{up}</span> {counts_up},\n'
    '    <span data-vote-down>{down}</span> {counts_down}<span class="nhsuk-u-visually-hidden"> ({label})</span>\n'
    '    <span class="consult-votes__mine" data-vote-mine>{mine}</span>\n  </p>\n  '
)
# Two small forms so voting works without JavaScript; consult.js sends them in the background.
_FORM = (
    '\n    <form action="{action}" method="post" class="consult-votes__form">\n'
    '      <input type="hidden" name="csrf_token" value="{token}">\n'
    '      <input type="hidden" name="kind" value="{kind}">\n'
    '      <input type="hidden" name="id" value="{pid}">\n'
    '      <input type="hidden" name="next" value="{next}">\n'
    '      <input type="hidden" name="value" value="{send}" data-vote-value="{value}">\n'
    '      <button class="nhsuk-button nhsuk-button--small {style} consult-votes__button" type="submit"'
    ' aria-pressed="{pressed}">\n'
    '        {text}<span class="nhsuk-u-visually-hidden"> {label}</span>\n'
    '      </button>\n    </form>\n    '
)
_HINT = (
    '\n  </div>\n  <p class="nhsuk-body-s consult-muted consult-votes__hint" data-vote-hint{hidden}>Select your vote'
    ' again to withdraw it.</p>\n  '
)


def vote_buttons(key: str, kind: str, item: Any, my_vote: int | None, voting: dict[str, Any] | None,
                 next_url: str, label: str, summary: bool = False) -> Markup:
    """An item's vote counts and, when `voting` (the forms' action and CSRF token) is given, its two vote forms.

    key: the app's public id key; my_vote: this person's vote on it (1, -1 or none); next_url: where a form
    without JavaScript returns; label: what the buttons are for, for screen readers ("idea: Longer hours");
    summary: an emerging theme the team published to check, so the votes say whether the summary is right.
    """
    channel = getattr(item, "channel", None)
    if channel and channel != "online":
        return Markup(_OFFLINE.format(tag=escape(_OFFLINE_TAGS.get(channel, "Offline contribution")),
                                      where=escape(GATHERED.get(channel, "offline"))))
    pid = escape(publicids.encode(kind, item.id, key=key))
    kind, label = escape(kind), escape(label)
    words = VOTE_WORDS["summary" if summary else "idea"]
    html = _COUNTS.format(kind=kind, pid=pid, said_up=escape(words["mine"][1]), said_down=escape(words["mine"][-1]),
                          up=escape(item.up_count), counts_up=escape(words["counts"][1]),
                          down=escape(item.down_count), counts_down=escape(words["counts"][-1]), label=label,
                          mine=escape(words["mine"].get(my_vote, "")))
    if voting:
        action, token, next_url = escape(voting["action"]), escape(voting["token"]), escape(next_url)
        forms = "".join(_FORM.format(
            action=action, token=token, kind=kind, pid=pid, next=next_url, value=value,
            send=0 if my_vote == value else value, style="" if my_vote == value else "nhsuk-button--secondary",
            pressed="true" if my_vote == value else "false", text=text, label=label,
        ) for value, text in ((1, escape(words["buttons"][1])), (-1, escape(words["buttons"][-1]))))
        html += '\n  <div class="consult-votes__buttons">\n    ' + forms + _HINT.format(
            hidden="" if my_vote else " hidden")
    return Markup(html + "\n</div>\n\n")


_CONTROLS = '\n\n\n\n<p class="nhsuk-body-s consult-controls nhsuk-u-margin-bottom-2">\n  {links}\n</p>\n\n'
_REPORT = '\n  <a href="{url}">Report<span class="nhsuk-u-visually-hidden"> this {kind}</span></a>\n  '
_EDIT = '<a href="{url}">Edit<span class="nhsuk-u-visually-hidden"> your {kind}</span></a> &middot; '
_WITHDRAW = '\n  <a href="{url}">Withdraw<span class="nhsuk-u-visually-hidden"> your {kind}</span></a>\n  '


def contribution_controls(pid_url: Callable[..., str], kind: str, item: Any, viewer: int | None) -> Markup:
    """Report (others' posts), edit (your own, for a short window) and withdraw (your own, any time) links.

    pid_url: templating.pid_url bound to the app; viewer: the logged-in person's id (none for visitors, who get
    nothing), read once per page rather than once per item.
    """
    if viewer is None:
        return Markup("\n\n\n\n")
    kind_text = escape(kind)
    if item.author_id != viewer:
        url = escape(pid_url("moderation.report", "item_id", kind, item.id, kind=kind))
        return Markup(_CONTROLS.format(links=_REPORT.format(url=url, kind=kind_text)))
    from .views.moderation import can_edit_item  # your own posts only: the views own the editing window

    edit = _EDIT.format(url=escape(url_for("moderation.edit", kind=kind, item_id=item.id)),
                        kind=kind_text) if can_edit_item(item) else ""
    withdraw = _WITHDRAW.format(url=escape(url_for("moderation.withdraw", kind=kind, item_id=item.id)), kind=kind_text)
    return Markup(_CONTROLS.format(links="\n  " + edit + withdraw))
