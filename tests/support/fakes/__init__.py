"""Fakes of external services (Telegram Bot API, ...) for tests and benchmarks."""
