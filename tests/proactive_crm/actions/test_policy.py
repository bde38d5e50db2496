"""The contact policy file: the shipped one loads, and a wrong value is refused with its file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from proactive_crm.actions.policy import ACTION_TYPES, load_policy, parse_policy, policy_path
from proactive_crm.config import ConfigError, load_settings

from .conftest import POLICY_FILE


def test_the_shipped_policy_loads_with_every_action_type(policy) -> None:
    assert set(policy.action_types) == set(ACTION_TYPES)
    assert policy.control_share == 0.05 and policy.holdout_share == 0.10
    assert (policy.max_contacts_per_7_days, policy.max_contacts_per_day) == (2, 1)
    assert policy.action_types["service_recovery"].preempts
    assert policy.action_types["service_recovery"].high_value_channels == ("call_center",)
    assert policy.channels["call_center"].window.latest_hour == 18


def test_pipeline_yml_points_to_the_policy_with_one_key() -> None:
    settings = load_settings()
    assert settings.raw.get("contact_policy") == "config/contact_policy.yml"
    assert policy_path(settings) == POLICY_FILE


def _broken(change) -> str:
    data = yaml.safe_load(POLICY_FILE.read_text())
    change(data)
    with pytest.raises(ConfigError) as error:
        parse_policy(data, Path("policy.yml"))
    return str(error.value)


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (lambda d: d["control_group"].update(share=0.9), "control_group.share"),
        (lambda d: d["frequency"].update(max_contacts_per_7_days=0), "frequency.max_contacts_per_7_days"),
        (lambda d: d["send_window"].update(earliest_hour=21), "send_window"),
        (lambda d: d["channels"].update(fax={"consent": "email", "address": "email", "cost": 1}), "fax"),
        (lambda d: d["channels"]["sms"].update(consent="carrier_pigeon"), "channels.sms.consent"),
        (lambda d: d["channels"]["call_center"].update(send_window={"earliest_hour": 7, "latest_hour": 18}),
         "channels.call_center"),
        (lambda d: d["action_types"].update(birthday_cake={}), "birthday_cake"),
        (lambda d: d["action_types"]["win_back"].update(channels=["pager"]), "action_types.win_back.channels"),
        (lambda d: d["action_types"]["win_back"]["prior_response"].update(email=1.5),
         "action_types.win_back.prior_response.email"),
        (lambda d: d["action_types"]["win_back"].update(value={"percent": 3}), "action_types.win_back.value"),
        (lambda d: d.update(suppress_channel_on=["annoyed"]), "suppress_channel_on"),
    ],
)
def test_a_wrong_value_names_the_file_and_the_key(change, names) -> None:
    message = _broken(change)
    assert message.startswith("policy.yml: ") and names in message


def test_a_missing_policy_file_says_which_setting_to_fix(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.yml"
    config.write_text("contact_policy: nowhere.yml\n")
    settings = load_settings({"CRM_CONFIG": str(config)})
    with pytest.raises(ConfigError, match="set contact_policy in"):
        load_policy(settings)
