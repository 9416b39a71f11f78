from __future__ import annotations

from rest_framework import serializers

from .models import Category


def category_field() -> serializers.SlugRelatedField:
    """An active matter-list category named by its code; unknown codes are a 400 naming the field."""
    return serializers.SlugRelatedField(
        slug_field="code", queryset=Category.objects.filter(active=True),
        error_messages={"does_not_exist": "未知事项编码 unknown category {value!r}",
                        "invalid": "事项编码无效 (invalid category code)"},
    )
