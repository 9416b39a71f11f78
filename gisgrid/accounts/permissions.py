from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from . import roles


class CanEditBoundaries(BasePermission):
    """Reads for everyone signed in or not; writes only for planners and admins."""

    message = "只有网格规划员或管理员可以修改网格 (planner or admin role required)"

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return roles.can_edit_boundaries(request.user)


class IsPlanner(BasePermission):
    message = "只有网格规划员或管理员可以访问 (planner or admin role required)"

    def has_permission(self, request, view) -> bool:
        return roles.can_edit_boundaries(request.user)
