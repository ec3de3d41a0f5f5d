"""A complaint at a given step, for the voice tests."""

from __future__ import annotations

from survey_flows.types import InboundKind
from tests.support.complaint_chat import DESCRIPTION
from tests.support.complaint_chat import Chat as ComplaintChat


def complaint_at(step: str) -> ComplaintChat:
    """A complaint in progress at ``step`` (kind: pengaduan; description given)."""
    chat = ComplaintChat()
    chat.send(InboundKind.COMMAND, command="start", command_args=("c_dukcapil-mpp",))
    for answer in ("1", DESCRIPTION, "lanjut", "lewati", "tidak", "tidak"):
        if chat.state is not None and chat.state["step"] == step:
            return chat
        chat.say(answer)
    assert chat.state is not None and chat.state["step"] == step
    return chat
