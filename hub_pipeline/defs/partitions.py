"""The daily partitions: one partition per announcement day (UTC)."""

from dagster import DailyPartitionsDefinition

# arXiv's new-style identifiers and daily mailings as served today start in April 2007.
# end_offset=1 makes today's partition exist, since the schedule runs after today's mailing.
daily_partitions = DailyPartitionsDefinition(start_date="2007-04-02", end_offset=1, timezone="UTC")
