"""Evaluators: score any plugged-in model on a manifest, per axis and level."""

from __future__ import annotations
