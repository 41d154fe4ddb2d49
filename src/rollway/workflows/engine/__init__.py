"""The embedded engine: Rollway's rendered WorkflowTemplates, executed on one machine."""

from .runner import Engine, SecretSource
from .spec import TemplateError, WorkflowSpec, parse

__all__ = ["Engine", "SecretSource", "TemplateError", "WorkflowSpec", "parse"]
