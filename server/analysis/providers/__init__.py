"""LLM provider adapters (OpenAI, Anthropic, offline) behind one small interface (issue 3)."""
