"""The embedded engine: Rollway's rendered WorkflowTemplates, executed on one machine."""

from .runner import Engine, SecretSource
from .spec import Parameter, TemplateError, WorkflowSpec, parse

__all__ = [
    "Engine",
    "Parameter",
    "SecretSource",
    "TemplateError",
    "WorkflowSpec",
    "parse",
]
