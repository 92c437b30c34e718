"""Agent configuration from YAML: defaults, derived channels, and errors that name the field to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from observation.agent.support import MemorySink
from rohe.core.errors import InvalidInput
from rohe.core.loading import parse_document
from rohe.observation.agent import AgentConfig, ObservationAgent, load_agent_config
from rohe.observation.agent.config import agent_config_from_dict


def test_loads_yaml_with_defaults_and_resolves_contract_paths(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        "app: vision\ntransport: {kind: mqtt}\nwindows:\n  - {kind: tumbling, size_s: 5}\n"
        "  - {kind: sliding, size_s: 30, step_s: 10}\ncontracts: [contracts/gold.yaml]\n"
    )
    config = load_agent_config(path)
    assert config.run == "default" and config.transport.resolved_url() == "mqtt://127.0.0.1:1883"
    assert config.channel() == "rohe/obs/vision/default"
    assert [w.key for w in config.windows] == ["tumbling:5:5", "sliding:30:10"]
    assert config.contracts == [tmp_path / "contracts" / "gold.yaml"]


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("run: r\n", "app"),
        ("app: a\nwindows: [{kind: sliding, size_s: 10}]\n", "windows[0]"),
        ("app: a\nwindows: [{size_s: 10, step_s: 5}]\n", "windows[0]"),
        ("app: a\nwindows: [{kind: sliding, size_s: 5, step_s: 10}]\n", "windows[0]"),
        ("app: a\ntransport: {kind: kafka}\n", "transport.kind"),
        ("app: a\nwindow: []\n", "window"),
        ("app: a\nallowed_lateness_s: -1\n", "allowed_lateness_s"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, text: str, location: str) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load_agent_config(path)
    assert location in [p.location for p in caught.value.problems]


def test_not_a_mapping_and_missing_file_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(InvalidInput, match="must be a mapping"):
        load_agent_config(path)
    with pytest.raises(InvalidInput, match="file not found"):
        load_agent_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("extra", "location"),
    [
        ({"window_functions": {"x": "observation.agent.support:nope"}}, "window_functions.x"),
        ({"window_functions": {"x": "no_such_package.module:f"}}, "window_functions.x"),
        ({"window_functions": {"x": "observation.agent.support:NOT_CALLABLE"}}, "window_functions.x"),
        ({"parser": "observation.agent.support.missing_parser"}, "parser"),
    ],
)
def test_bad_plugin_paths_name_the_config_field(extra: dict[str, object], location: str) -> None:
    config = AgentConfig.model_validate({"app": "a", **extra})
    with pytest.raises(InvalidInput) as caught:
        ObservationAgent(config, MemorySink())
    assert [p.location for p in caught.value.problems] == [location]


def test_the_documented_example_config_is_valid() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "observation-agent.md"
    example = docs.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    config = agent_config_from_dict(parse_document(example), str(docs))
    assert config.app == "vision" and [w.kind.value for w in config.windows] == ["tumbling", "sliding"]
    assert config.window_functions == {"drift": "mypkg.metrics:confidence_drift"}
