"""The naive client the benchmark compares against: the public docs' approach.

List the run test's executions, take the first, fetch it with the FMA summary, then read the
call pages with the default page size (10), one after another, and apply the docs' snippet
(`all(e.total_pass_rate > 90)`). Written for comparison only; it is what fi-gate replaces.
"""

from __future__ import annotations

from typing import Any

import requests

RUNS = "/sdk/api/v1/simulation/runs/"


def naive_gate(base_url: str, run_test: str, api_key: str, secret_key: str) -> dict[str, Any]:
    headers = {"X-Api-Key": api_key, "X-Secret-Key": secret_key}
    session = requests.Session()
    url = base_url + RUNS
    listing = session.get(url, headers=headers, params={"run_test_name": run_test}, timeout=60)
    execution_id = listing.json()["result"]["results"][0]["execution_id"]
    detail = session.get(
        url, headers=headers, params={"execution_id": execution_id, "summary": "true"}, timeout=60
    ).json()["result"]
    calls = list(detail["call_results"]["results"])
    requests_made = 2
    for page in range(2, detail["call_results"]["total_pages"] + 1):
        body = session.get(
            url, headers=headers, params={"execution_id": execution_id, "page": page}, timeout=60
        ).json()
        calls.extend(body["result"]["call_results"]["results"])
        requests_made += 1
    passed = all(e.get("total_pass_rate", 100) > 90 for e in detail["eval_results"])
    session.close()
    return {"passed": passed, "calls": len(calls), "requests": requests_made}
