"""A whole survey's answers, as a citizen types them."""

from __future__ import annotations

# consent, 4 profile items, service type, 9 questions, suggestion skipped, submit
FULL_SURVEY = ["1", "1", "2", "3", "1", "2", "4", "4", "3", "4", "4", "4", "4", "3", "2", "1", "1"]
