"""Stage progress bars written to a stream that is not a terminal, as in a log file."""

import io

from hub_pipeline.lib.progress import StageBars


def stages():
    return {
        "page": {"desc": "pages harvested", "unit": "page"},
        "day": {"desc": "days settled", "total": 4, "unit": "source-day"},
    }


def test_bars_in_log_file_one_line_each():
    stream = io.StringIO()
    bars = StageBars(stages(), stream)
    for _ in range(3):
        bars.update("page")
    bars.update("day", 2)
    bars.update("day", 2)
    bars.close()

    text = stream.getvalue()
    assert "\x1b[" not in text  # no cursor movement
    assert "\r" not in text  # no redraws
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("pages harvested: 3page ")
    assert lines[1].startswith("days settled: 100%|##########| 4/4 ")


def test_stage_reporting_again_continues_count():
    stream = io.StringIO()
    bars = StageBars(stages(), stream)
    bars.update("day")
    bars.update("page")
    bars.update("day")
    bars.close()

    lines = stream.getvalue().splitlines()
    assert [line.split(" [")[0] for line in lines] == [
        "days settled:  25%|##5       | 1/4",
        "pages harvested: 1page",
        "days settled:  50%|#####     | 2/4",
    ]


def test_close_without_bar_writes_nothing():
    stream = io.StringIO()
    bars = StageBars(stages(), stream)
    bars.close()
    bars.close()
    assert stream.getvalue() == ""
