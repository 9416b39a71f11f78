from django.contrib import admin

from .models import UnitMembership


@admin.register(UnitMembership)
class UnitMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "unit")
    list_select_related = ("user", "unit")
    search_fields = ("user__username", "unit__name", "unit__code")
    autocomplete_fields = ("user",)
    raw_id_fields = ("unit",)
