"""Open311 keys in the admin: see who uses the API, disable a key. Keys are issued by
`./run manage open311_key NAME`, which is the one place the key itself is ever shown."""

from django.contrib import admin

from .models import Open311Key, Open311Request


@admin.register(Open311Key)
class Open311KeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "active", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "prefix", "created_at", "last_used_at"]
    fields = ["name", "prefix", "active", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Open311Request)
class Open311RequestAdmin(admin.ModelAdmin):
    list_display = ["case", "key", "jurisdiction_id", "device_id", "account_id"]
    list_filter = ["key"]
    search_fields = ["case__number", "device_id", "account_id"]
    raw_id_fields = ["case"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
