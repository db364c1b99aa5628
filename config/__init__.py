"""Settings shared by the ingester and the service."""

from config.settings import PROJECT_ROOT, Settings, get_settings

__all__ = ["PROJECT_ROOT", "Settings", "get_settings"]
