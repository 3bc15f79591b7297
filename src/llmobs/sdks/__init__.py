"""What ``llmobs.instrument`` is made of, one job per module:

- ``adapter``: what an SDK adapter tells (its methods, model, output cap, streams, hooks);
- ``openai_like``, ``gemini``, ``bedrock``: the adapters of the OpenAI and Anthropic, the
  google-genai and the boto3 Bedrock Runtime clients;
- ``methods``: an observed method, sync or async, and an observed stream helper's manager;
- ``observed``: a streamed response as the caller reads it, recorded when it ends;
- ``attempts``: the HTTP attempts of one call (the SDK's own retries), 429s and 5xx, and the
  rate-limit headroom in their headers.
"""
