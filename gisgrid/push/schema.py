"""What the event endpoints answer, for the OpenAPI schema only (docs/push.md)."""

from __future__ import annotations

from rest_framework import serializers

from .audience import RESET, TOPICS


class ChangeItem(serializers.Serializer):
    id = serializers.IntegerField(help_text="the event id (as the stream's `id:`)")
    event = serializers.ChoiceField([*TOPICS, RESET], help_text="the kind (as the stream's `event:`)")
    data = serializers.DictField(help_text="the event's data, as the stream's `data:` (docs/push.md)")


class ChangesAnswer(serializers.Serializer):
    reset = serializers.BooleanField(help_text="`after` is older than the events kept: reload, then ask from `last`")
    last = serializers.IntegerField(help_text="ask with after=last next time")
    events = ChangeItem(many=True)


class StreamEvent(serializers.Serializer):
    """One message of the stream, as an EventSource parses it (docs/push.md)."""

    id = serializers.CharField(required=False, help_text="the event id (digits); resume after it")
    event = serializers.ChoiceField([*TOPICS, RESET], required=False)
    data = serializers.CharField(required=False, help_text="one line of JSON: the kind's data")
    retry = serializers.IntegerField(required=False, help_text="milliseconds to wait before reconnecting")
