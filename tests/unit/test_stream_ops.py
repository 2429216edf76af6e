"""Operator-facing pieces of the stream without a broker: metrics of handed-over partitions,
the web port check, and how ``yibao status`` judges and prints what it found."""

from __future__ import annotations

import socket

from streams.metrics import StreamMetrics
from streams.status import GroupLag, Status, WorkerSeen, assess, render
from streams.worker import web_port_problem


def lag_series(metrics: StreamMetrics) -> set[tuple[str, str]]:
    text = metrics.render().decode()
    found = set()
    for line in text.splitlines():
        if line.startswith("yibao_consumer_lag{"):
            labels = dict(
                part.split("=") for part in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            found.add((labels["topic"].strip('"'), labels["partition"].strip('"')))
    return found


def test_revoked_partitions_leave_the_lag_metric() -> None:
    metrics = StreamMetrics()
    for n in range(4):
        metrics.set_lag("claims", n, 10 * n)
    metrics.set_lag("claims.realtime", 1, 5)
    metrics.forget_partitions([("claims", 2), ("claims", 3), ("claims.realtime", 1)])
    assert lag_series(metrics) == {("claims", "0"), ("claims", "1")}
    metrics.forget_partitions([("claims", 3)])  # not reported: nothing to forget, no error
    metrics.set_lag("claims", 3, 1)  # given back later: reported again
    assert ("claims", "3") in lag_series(metrics)


def test_a_busy_web_port_is_named_with_its_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        problem = web_port_problem("127.0.0.1", port)
    assert problem is not None
    assert f"port {port} on 127.0.0.1 is in use" in problem
    assert "STREAM_WEB_PORT" in problem and "\n" not in problem
    assert web_port_problem("127.0.0.1", port) is None  # closed again: free


def healthy() -> Status:
    return Status(
        "127.0.0.1:9092",
        True,
        topics={"claims": 4, "settlements": 4},
        groups=[GroupLag("yibao-stream-claims", 3, {"claims:0": 3})],
        workers=[WorkerSeen("http://127.0.0.1:6066", True, True, [0, 1, 2, 3], 10, "7")],
        dead_letters=2,
        follower={"behind": 5, "partitions": {"settlements:0": 5}},
    )


def test_a_healthy_stream_has_no_problems() -> None:
    status = healthy()
    problems = assess(status, max_lag=100)
    assert problems == []
    lines = render(status, problems)
    assert lines[-1] == "healthy"
    assert any("model 7" in line and "ready" in line for line in lines)
    assert any("claims.dlq: 2" in line for line in lines)
    assert any("review follower: 5 messages behind" in line for line in lines)


def test_each_problem_is_named() -> None:
    status = healthy()
    status.missing_topics = ["fraud.flags"]
    status.groups[0].lag = 500
    status.workers.append(WorkerSeen("http://w2:6066", False, error="connection refused"))
    status.follower = {"behind": 1000, "partitions": {}}
    problems = assess(status, max_lag=100)
    assert problems == [
        "topic fraud.flags is missing",
        "group yibao-stream-claims is 500 messages behind (limit 100)",
        "worker http://w2:6066 does not answer: connection refused",
        "review follower is 1000 messages behind (limit 100)",
    ]
    assert render(status, problems)[-1].startswith("UNHEALTHY: topic fraud.flags is missing; ")


def test_no_ready_worker_and_no_broker() -> None:
    status = healthy()
    status.workers = [WorkerSeen("http://127.0.0.1:6066", True, False)]
    assert assess(status, max_lag=100) == [
        "no worker is ready",
        "worker http://127.0.0.1:6066 is not ready",
    ]
    down = Status("127.0.0.1:1", False, "no answer in 2 s")
    assert assess(down, max_lag=100) == ["broker 127.0.0.1:1 not reachable: no answer in 2 s"]
    assert render(down, []) == ["broker     127.0.0.1:1: NOT REACHABLE (no answer in 2 s)"]
