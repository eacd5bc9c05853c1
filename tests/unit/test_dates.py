"""The month and year beside anonymous contributions: UK time, across month ends and clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from consult.templating import month_year


def test_a_contribution_at_a_uk_month_end_shows_the_uk_month() -> None:
    # 30 June 2021, 23:30 UTC is already 1 July in British Summer Time.
    assert month_year(datetime(2021, 6, 30, 22, 59)) == "June 2021"
    assert month_year(datetime(2021, 6, 30, 23, 0)) == "July 2021"
    assert month_year(datetime(2021, 6, 30, 23, 30)) == "July 2021"
    # In winter UK time is UTC: the month turns at midnight UTC.
    assert month_year(datetime(2021, 12, 31, 23, 59)) == "December 2021"
    assert month_year(datetime(2022, 1, 1, 0, 0)) == "January 2022"
    assert month_year(None) == ""


def test_every_minute_of_a_year_shows_the_month_uk_time_gives() -> None:
    # The month is remembered per UTC hour: check every quarter hour of 2021 against the direct conversion.
    uk = ZoneInfo("Europe/London")
    moment = datetime(2021, 1, 1)
    while moment.year == 2021:
        expected = moment.replace(tzinfo=UTC).astimezone(uk).strftime("%B %Y")
        assert month_year(moment) == expected, moment
        moment += timedelta(minutes=15)
