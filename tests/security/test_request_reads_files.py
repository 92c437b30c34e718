"""Attack: a request names a server file (a contract, a rules file) to read it and get its lines back in the
error. Files a request names must lie inside the data dir, and errors never quote them."""

from __future__ import annotations

from pathlib import Path

from attack_kit import AGENT
from fastapi.testclient import TestClient

SECRET_LINE = "root:$6$TOPSECRETHASH:19000:0:99999:7:::"


def _secret_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "shadow"
    target.write_text(f"{SECRET_LINE}\ndaemon:*:19000:0:99999:7:::\n", encoding="utf-8")
    return target


def test_a_contract_outside_the_data_dir_is_refused_unread(registered: TestClient, tmp_path: Path) -> None:
    shadow = _secret_file(tmp_path / "etc")
    for named in (str(shadow), "../etc/shadow", "/etc/shadow", "x\u0000y"):
        reply = registered.post("/observation/apps/shop/agent/start", json={**AGENT, "contracts": [named]})
        assert reply.status_code == 422, reply.text
        assert reply.json()["problems"][0]["location"] == "contracts[0]"
        assert "TOPSECRET" not in reply.text and "daemon" not in reply.text


def test_a_symlink_in_the_data_dir_pointing_out_is_refused(registered: TestClient, tmp_path: Path) -> None:
    (tmp_path / "data" / "link.yaml").symlink_to(_secret_file(tmp_path / "etc"))
    reply = registered.post("/observation/apps/shop/agent/start", json={**AGENT, "contracts": ["link.yaml"]})
    assert reply.status_code == 422 and "outside the data dir" in reply.json()["problems"][0]["message"]


def test_a_bad_file_inside_the_data_dir_is_refused_without_quoting_it(registered: TestClient, tmp_path: Path) -> None:
    inside = str(_secret_file(tmp_path / "data"))
    for config in ({"contracts": [inside]}, {"contracts": ["shadow"]}, {"quality": {"rules": inside}}):
        reply = registered.post("/observation/apps/shop/agent/start", json={**AGENT, **config})
        assert reply.status_code == 422, reply.text
        assert "TOPSECRET" not in reply.text and "19000" not in reply.text and "daemon" not in reply.text


def test_a_valid_rules_file_outside_the_data_dir_is_refused_and_one_inside_is_used(
    registered: TestClient, tmp_path: Path
) -> None:
    rules = "rules:\n  - {name: slow, metric: end_to_end.p99_ms, operator: '>', value: 500}\n"
    outside = tmp_path / "elsewhere" / "rules.yaml"
    outside.parent.mkdir()
    outside.write_text(rules, encoding="utf-8")
    reply = registered.post("/observation/apps/shop/agent/start", json={**AGENT, "quality": {"rules": str(outside)}})
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "quality.rules"
    (tmp_path / "data" / "rules.yaml").write_text(rules, encoding="utf-8")
    reply = registered.post("/observation/apps/shop/agent/start", json={**AGENT, "quality": {"rules": "rules.yaml"}})
    assert reply.status_code == 200, reply.text
