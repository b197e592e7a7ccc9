"""The agent-pacing rule: how many new calls keep the expected leads within the agents' capacity."""

from pathlib import Path

import pytest

from bot.campaigns.agent_pacing import PRIOR_CALLS, calls_allowed, default_queue, lead_rate, script_queue
from bot.campaigns.rules import CampaignRules
from bot.dialog.loader import load_common, load_script

DIALOGS = Path(__file__).resolve().parents[2] / "dialogs"


@pytest.mark.parametrize(
    ("wanted", "calls_up", "rate", "free", "waiting", "max_waiting", "arriving", "allowed", "why"),
    [
        (5, 0, 1.0, 2, 0, 0, 0, 2, "every call a lead: one call per free agent"),
        (5, 0, 1.0, 2, 0, 1, 0, 3, "one more may wait in the line"),
        (5, 1, 1.0, 2, 0, 1, 0, 2, "a call up not handed off yet takes a place"),
        (5, 3, 1.0, 2, 0, 1, 0, 0, "saturated: paused"),
        (5, 0, 1.0, 0, 1, 1, 0, 0, "no agent free and the line full: paused"),
        (5, 0, 1.0, 0, 3, 1, 0, 0, "a line over its limit gives no negative room"),
        (5, 0, 1.0, 1, 0, 0, 0, 1, "an agent freed: resumes with one call"),
        (5, 0, 0.5, 2, 0, 0, 0, 4, "half the calls are leads: two calls per agent"),
        (5, 1, 0.5, 2, 0, 0, 0, 3, "half a lead expected from the call up"),
        (5, 0, 0.3, 1, 0, 0, 0, 3, "1 / 0.3 = 3.33: three calls"),
        (3, 0, 0.1, 2, 0, 0, 0, 3, "never more than the other limits allow"),
        (0, 0, 1.0, 2, 0, 0, 0, 0, "nothing wanted"),
        (5, 0, 0.0, 0, 5, 0, 0, 5, "a zero lead rate: agents do not limit"),
        (5, 0, 1 / 3, 1, 0, 0, 0, 3, "rounding: 1 / (1/3) is three calls, not two"),
        (5, 0, 1.0, 2, 0, 1, 1, 2, "a hand-off requested, not on the board yet, takes a place"),
        (5, 0, 1.0, 1, 0, 1, 2, 0, "two arriving fill one free agent and the line's place"),
        (5, 0, 0.0, 0, 1, 1, 1, 0, "a zero lead rate, but one arriving over capacity: paused"),
    ],
)
def test_calls_allowed(wanted, calls_up, rate, free, waiting, max_waiting, arriving, allowed, why):
    assert calls_allowed(wanted, calls_up, rate, free, waiting, max_waiting, arriving) == allowed, why


@pytest.mark.parametrize(
    ("leads", "answered", "rate"),
    [
        (0, 0, 1.0),  # nothing measured: the prior, every call a lead
        (0, PRIOR_CALLS, 0.5),  # as many calls as the prior weighs, none a lead: half way
        (10, 10, 1.0),
        (20, 95, 0.25),  # (20 + 5) / (95 + 5)
        (3, 1, 1.0),  # never above 1
    ],
)
def test_lead_rate(leads, answered, rate):
    assert lead_rate(leads, answered) == pytest.approx(rate)


def test_default_queue_is_the_lead_queue_else_the_operator_queue():
    assert default_queue("sales", "support") == "sales"
    assert default_queue(None, "support") == "support"
    assert default_queue(None, None) is None
    _, common = load_common(DIALOGS / "_common.yml")
    scripts = {name: load_script(DIALOGS / f"{name}.yml", common)[0] for name in ("offer", "reminder")}
    assert script_queue(scripts, "offer") == "sales"  # its lead: rule's queue
    assert script_queue(scripts, "reminder") == "support"  # no lead: rule, its operator_queue
    assert script_queue(scripts, "nonexistent") is None


def test_rules_take_agent_pacing_and_refuse_unknown_fields():
    assert CampaignRules().agent_pacing is None
    assert CampaignRules.model_validate({"agent_pacing": {}}).agent_pacing.queue is None
    assert CampaignRules.model_validate({"agent_pacing": {"queue": "sales"}}).agent_pacing.queue == "sales"
    with pytest.raises(ValueError, match="extra"):
        CampaignRules.model_validate({"agent_pacing": {"queues": "sales"}})
