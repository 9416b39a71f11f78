from __future__ import annotations

from rest_framework import serializers

from .models import Category


class CategoryCodeField(serializers.SlugRelatedField):
    def to_internal_value(self, data):
        # PostgreSQL text cannot hold NUL; the lookup would fail with a DataError (a 500).
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


def category_field() -> serializers.SlugRelatedField:
    """An active matter-list category named by its code; unknown codes are a 400 naming the field."""
    return CategoryCodeField(
        slug_field="code", queryset=Category.objects.filter(active=True),
        error_messages={"does_not_exist": "未知事项编码 unknown category {value!r}",
                        "invalid": "事项编码无效 (invalid category code)"},
    )
