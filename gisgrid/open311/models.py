"""Open311 GeoReport v2: the API keys of client applications, and what each request carried.

A key is shown once, when `./run manage open311_key NAME` makes it; only its SHA-256 is stored
(a key is 32 random bytes, so a plain hash is as good as a slow one and lets a request find its
key with one indexed lookup).
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from gisgrid.cases.models import Case

KEY_PREFIX_LEN = 8


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Open311Key(models.Model):
    name = models.CharField(_("名称"), max_length=100, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("密钥前缀"), max_length=KEY_PREFIX_LEN, editable=False)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Open311 密钥")
        verbose_name_plural = _("Open311 密钥")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str) -> tuple[Open311Key, str]:
        """A new key for client `name`: the row and the key itself (never stored)."""
        key = secrets.token_urlsafe(32)
        row = cls.objects.create(name=name, key_hash=hash_key(key), prefix=key[:KEY_PREFIX_LEN])
        return row, key

    def rotate(self) -> str:
        """Replace this client's key; the new key (the old one stops working at once)."""
        key = secrets.token_urlsafe(32)
        self.key_hash, self.prefix, self.active = hash_key(key), key[:KEY_PREFIX_LEN], True
        self.save(update_fields=["key_hash", "prefix", "active"])
        return key

    @classmethod
    def find(cls, key: str) -> Open311Key | None:
        if not key or len(key) > 200:
            return None
        return cls.objects.filter(key_hash=hash_key(key), active=True).first()


class Open311Request(models.Model):
    """What an Open311 POST carried beyond the report itself (who sent it, through which key)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="open311")
    key = models.ForeignKey(Open311Key, on_delete=models.PROTECT, related_name="requests")
    jurisdiction_id = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=200, blank=True)
    device_id = models.CharField(max_length=200, blank=True)
    account_id = models.CharField(max_length=200, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    address_string = models.CharField(max_length=200, blank=True)
    address_id = models.CharField(max_length=100, blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("Open311 请求")
        verbose_name_plural = _("Open311 请求")
