"""Placeholder: filled in by the web UI work (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
