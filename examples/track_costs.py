"""Track what calls cost against a daily budget, then make one call through the observer.

Run with ``make example``. Costs go to the default database ($LLMOBS_COST_DB, else
~/.local/share/llmobs/costs.sqlite3); ``obsgen costs`` then reports them.
"""

from __future__ import annotations

from llmobs import LLMObserver, get_cost_tracker

# Initialize with daily budget
tracker = get_cost_tracker(daily_budget=100.0)

# Record a cost
cost = tracker.record_cost(
    agent_id="meetmind.coordinator",
    model="gpt-4",
    provider="openai",
    prompt_tokens=100,
    completion_tokens=200,
)
print(f"Recorded: ${cost}")

# One call does metrics and cost together
observer = LLMObserver(tracker=tracker)
with observer.call("meetmind.coordinator", "claude-3-5-sonnet-20241022", "anthropic") as call:
    # response = client.messages.create(...); call.set_usage(response)
    call.set_usage(
        {"usage": {"input_tokens": 200, "output_tokens": 300, "cache_read_input_tokens": 1800}}
    )

summary = tracker.get_daily_summary()
print(f"Today's cost: ${summary.total_cost}")
print(f"Requests: {summary.total_requests}")
print(f"Cost by agent: {summary.cost_by_agent}")

status = tracker.check_budget_threshold(threshold_percent=80.0)
print(f"Budget: {status['percent_used']}% of ${status['budget']} used")
print(f"Week cost: ${tracker.get_weekly_summary()['total_cost']}")
print(f"Month cost: ${tracker.get_monthly_summary()['total_cost']}")
print(f"Stored in {tracker.path}; run `obsgen costs` for the report")
