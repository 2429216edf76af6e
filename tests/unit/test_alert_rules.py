"""The Prometheus alerting rules (deploy/prometheus) load, fire in their own unit tests, and
name only series the worker and the review follower really export; so does the dashboard.

promtool is Debian's ``prometheus`` package (.ci/run installs it). Without it these
tests skip on a workstation but fail in CI (CI=true), so the rules are never untested.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from review.follow_metrics import FollowMetrics
from streams.metrics import StreamMetrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "yibao-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "yibao-alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "yibao.json"
ALERTS = {
    "YibaoWorkerDown",
    "YibaoNoWorkerUp",
    "YibaoConsumerLagHigh",
    "YibaoDeadLetters",
    "YibaoScoringErrors",
    "YibaoFlagRateOutOfBand",
    "YibaoFeatureSnapshotsStale",
    "YibaoReviewFollowerDown",
    "YibaoReviewFollowerBehind",
}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does)")
        pytest.skip("promtool is missing (apt-get install prometheus)")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, cwd=RULES.parent
    )


def exported_names() -> set[str]:
    """Every sample name the worker and the follower expose (counters with _total etc.)."""
    names = set()
    for registry in (StreamMetrics().registry, FollowMetrics().registry):
        for family in registry.collect():
            names.add(family.name)
            names.update(
                family.name + suffix
                for suffix in ("_total", "_bucket", "_sum", "_count", "_created")
            )
    return names


def series_names(expr: str) -> set[str]:
    return set(re.findall(r"\byibao_[a-z_]+", expr))


def test_rules_load() -> None:
    done = run("check", "rules", RULES.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


def test_every_alert_fires_in_the_rule_tests() -> None:
    done = run("test", "rules", RULE_TESTS.name)
    assert done.returncode == 0, done.stdout + done.stderr
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == ALERTS


def test_rules_name_only_exported_series() -> None:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == ALERTS
    known = exported_names()
    for rule in rules:
        assert series_names(rule["expr"]) <= known, rule["alert"]


def test_dashboard_names_only_exported_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    known = exported_names()
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert exprs
    for expr in exprs:
        assert series_names(expr) <= known, expr
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_prometheus_config_loads_the_rules(tmp_path: Path) -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    # In the compose stack deploy/prometheus is mounted at /etc/prometheus/rules.
    assert config["rule_files"] == ["/etc/prometheus/rules/yibao-alerts.yml"]
    config["rule_files"] = [str(RULES)]
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(config), encoding="utf-8")
    done = run("check", "config", str(local))
    assert done.returncode == 0, done.stdout + done.stderr
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert jobs == {"yibao-worker", "yibao-review-follow"}


def test_compose_mounts_the_monitoring_files() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]

    def mounts(service: str) -> dict[str, str]:
        pairs = (v.split(":")[:2] for v in services[service]["volumes"])
        return {target: source for source, target in pairs}

    prometheus = mounts("prometheus")
    assert prometheus["/etc/prometheus/rules"] == "./deploy/prometheus"
    assert prometheus["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus.yml"
    grafana = mounts("grafana")
    provisioning = ROOT / grafana["/etc/grafana/provisioning"]
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    uid = source["datasources"][0]["uid"]
    providers = yaml.safe_load((provisioning / "dashboards" / "yibao.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    assert (ROOT / grafana["/var/lib/grafana/dashboards"] / DASHBOARD.name).is_file()
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {uid}
    # the worker and the follower listen where Prometheus can reach them
    assert services["worker"]["environment"]["STREAM_WEB_HOST"] == "0.0.0.0"
    follower = services["review-follow"]["environment"]
    assert str(follower["FOLLOW_METRICS_PORT"]) in services["review-follow"]["expose"]
