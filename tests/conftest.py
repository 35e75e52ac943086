"""Shared by every tier: the project root."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
