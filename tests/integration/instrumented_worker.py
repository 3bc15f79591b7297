"""One replica calling an LLM through an instrumented OpenAI client with an enforced budget,
for the enforcement tests.

Usage: instrumented_worker.py DB BASE_URL THREADS CALLS PROMPT_CHARS MAX_TOKENS|none
  THREADS threads make CALLS calls each of a prompt of PROMPT_CHARS characters to the
  ``gpt-4o`` model at the local server's measured URL (a token billed per four characters); prints
  "admitted N refused M".
"""

from __future__ import annotations

import sys
import threading

import openai

import llmobs
from llmobs import BudgetExceededError, CostTracker, LLMObserver


def main(db: str, base_url: str, threads: int, calls: int, chars: int, max_tokens: str) -> None:
    tracker = CostTracker(db, enforce=True)
    observer = LLMObserver(tracker=tracker)
    counts = {"admitted": 0, "refused": 0}
    lock = threading.Lock()
    start = threading.Barrier(threads)
    limit = {} if max_tokens == "none" else {"max_tokens": int(max_tokens)}
    prompt = ("lorem ipsum dolor sit amet " * (chars // 27 + 1))[:chars]

    def caller(number: int) -> None:
        client = llmobs.instrument(
            openai.OpenAI(api_key="sk-local", base_url=base_url, max_retries=0),
            agent_id=f"fleet.caller{number}",
            observer=observer,
        )
        start.wait()
        for _ in range(calls):
            try:
                client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": prompt}],
                    **limit,
                )
                outcome = "admitted"
            except BudgetExceededError:
                outcome = "refused"
            with lock:
                counts[outcome] += 1

    workers = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    tracker.close()
    print(f"admitted {counts['admitted']} refused {counts['refused']}", flush=True)


if __name__ == "__main__":
    db, url, threads, calls, chars, max_tokens = sys.argv[1:]
    main(db, url, int(threads), int(calls), int(chars), max_tokens)
