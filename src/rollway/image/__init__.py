"""Daemonless OCI image builds from a jar, in the spirit of Jib, and a registry client to push them.

    from rollway.image import BuildRequest, build_image, parse_reference

The base image's layers are reused by digest, the jar becomes one layer (or one per Spring Boot
layer), every byte is reproducible, and the push writes the tag last.
"""

from __future__ import annotations

from .builder import BaseImage, BuildRequest, BuildResult, build_image, resolve_base
from .cache import LayerCache, default_root
from .credentials import Credentials, find_credentials
from .jar import JarLayout, LayerPlan, jar_layout
from .layer import Entry, Layer, write_layer
from .platform import Platform
from .reference import Reference, parse_reference
from .registry import RegistryClient, registry_url

__all__ = [
    "BaseImage",
    "BuildRequest",
    "BuildResult",
    "Credentials",
    "Entry",
    "JarLayout",
    "Layer",
    "LayerCache",
    "LayerPlan",
    "Platform",
    "Reference",
    "RegistryClient",
    "build_image",
    "default_root",
    "find_credentials",
    "jar_layout",
    "parse_reference",
    "registry_url",
    "resolve_base",
    "write_layer",
]
