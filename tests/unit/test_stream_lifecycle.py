"""Broker-loss helpers of the stream worker: the reconnect log filter, failure and exit texts."""

from __future__ import annotations

import logging
import time

from aiokafka.errors import CommitFailedError

from streams.broker import describe_exit
from streams.lifecycle import BrokerDataLost, describe_failure, record_data_loss, refusal
from streams.logs import ReconnectLogFilter

FAILED = "Unable connect to node with id 111: [Errno 111] Connect call failed ('127.0.0.1', 9092)"


def record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, (), None)


def test_one_client_line_per_back_off_step_with_the_attempt_number():
    flt = ReconnectLogFilter()
    burst = [record("aiokafka", FAILED) for _ in range(500)]
    passed = [r for r in burst if flt.filter(r)]
    assert len(passed) == 1
    assert (
        passed[0]
        .getMessage()
        .endswith("[broker connection attempt 1, failing for 0 s; 0 similar lines left out]")
    )
    time.sleep(1.05)  # the next step of the back-off: 1 s, then 2, 4 ... 30
    later = record("aiokafka.consumer.fetcher", "Failed fetch messages from 111")
    assert flt.filter(later)
    text = later.getMessage()  # "failing for 1 s" on an unloaded machine
    assert "[broker connection attempt 500, failing for " in text
    assert text.endswith(" s; 499 similar lines left out]")
    assert later.reconnect_attempt == 500
    # other loggers, and the clients' info lines, are never held back
    assert flt.filter(record("streams.agents", "partitions assigned and state recovered"))
    assert flt.filter(record("aiokafka", "Joined group", logging.INFO))


def test_failure_texts_name_the_cause():
    assert describe_failure(CommitFailedError("x")).startswith("lost group membership")
    lost = BrokerDataLost("broker lost its data: committed offset went back")
    assert describe_failure(lost) == lost.cause
    assert describe_failure(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exited with code 3"


def test_data_loss_marker_makes_the_worker_refuse_until_deleted(tmp_path):
    marker = tmp_path / "stream" / "g-claims" / "BROKER-DATA-LOST"
    assert refusal(marker) is None
    record_data_loss(marker, "broker lost its data: the claim topics are gone")
    why = refusal(marker)
    assert why is not None
    assert "the claim topics are gone" in why
    assert str(marker) in why
