"""The judge's AnalysisTemplate: the verdict decides the measurement, the whole judgement is its
value, the client secret comes from a Secret, and the hashes from the rollout's step."""

from __future__ import annotations

from rollway.analysis.template import JudgeClient, judge_step, judge_template

CLIENT = JudgeClient("http://kc/realms/r/protocol/openid-connect/token", "ci", "judge-client")


def test_the_template_posts_both_hashes_and_reads_the_verdict() -> None:
    spec = judge_template(api_url="http://api", app="hello", env="dev", client=CLIENT,
                          window_seconds=90, analysis={"passScore": 90})  # fmt: skip
    (metric,) = spec["metrics"]
    web = metric["provider"]["web"]
    assert web["url"] == "http://api/api/v1/apps/hello/environments/dev/analysis/judgements"
    assert web["jsonBody"] == {"canaryHash": "{{args.canary-hash}}",
                               "baselineHash": "{{args.baseline-hash}}", "windowSeconds": 90,
                               "analysis": {"passScore": 90}}  # fmt: skip
    assert (web["jsonPath"], metric["initialDelay"], metric["count"]) == ("{$}", "90s", 1)
    # marginal and inconclusive match neither condition: an inconclusive measurement pauses.
    assert metric["successCondition"] == 'result.verdict == "pass"'
    assert metric["failureCondition"] == 'result.verdict == "fail"'
    assert web["authentication"]["oauth2"]["clientSecret"] == "{{args.client-secret}}"
    secret = next(a for a in spec["args"] if a["name"] == "client-secret")
    assert secret["valueFrom"] == {"secretKeyRef": {"name": "judge-client", "key": "client-secret"}}


def test_the_step_supplies_the_hashes_the_template_only_declares() -> None:
    declared = {a["name"]: a for a in judge_template(api_url="http://api", app="a", env="e",
                                                     client=CLIENT, window_seconds=60)["args"]}  # fmt: skip
    assert (
        "valueFrom" not in declared["canary-hash"] and "valueFrom" not in declared["baseline-hash"]
    )
    step = judge_step()
    assert step["templates"] == [{"templateName": "rollway-judge"}]
    assert {a["name"]: a["valueFrom"]["podTemplateHashValue"] for a in step["args"]} == {
        "canary-hash": "Latest", "baseline-hash": "Stable"}  # fmt: skip
