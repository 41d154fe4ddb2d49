"""The embedded engine: Rollway's rendered WorkflowTemplates, executed on one machine."""

from .executor import SecretSource
from .runner import Engine
from .spec import Parameter, TemplateError, WorkflowSpec, parse

__all__ = [
    "Engine",
    "Parameter",
    "SecretSource",
    "TemplateError",
    "WorkflowSpec",
    "parse",
]
