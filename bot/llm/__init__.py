"""LLM mode (docs/llm.md): the provider clients, the turn's failure budget and the output checks.

    config.py       LlmConfig.from_env: provider, key, model, limits, prices; None when off
    client.py       LlmClient protocol: extract (forced tool call) and stream (text deltas)
    failure.py      LlmFailure(kind): the one error every provider's errors become
    openai_client   OpenAI and compatible servers, through langchain-openai
    anthropic_client  Anthropic, through its SDK
    factory.py      open_client(config)
    budget.py       Budget: retries within the turn's time; Attempts: tokens, latency, cost
    guard.py        sanitize_untrusted (in) and check_reply (out)
    gate.py         ReleaseGate: stream only text that passed the checks
    findings.py     what check_reply looks for: emails, phones, links, prices
    schema.py       tool arguments against the tool's schema
    usage.py        Usage and Prices

The model proposes; the qualifier's deterministic code decides.
"""
