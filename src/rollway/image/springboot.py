"""Spring Boot's `BOOT-INF/layers.idx`: which layer each entry of a layered jar belongs to.

The index is a YAML list of `{layer: [entry, …]}` in layer order; an entry ending in '/' claims
everything under it, any other claims that one name, and the first layer that claims a name
wins — the rules of Spring Boot's `IndexedLayers`, which `layertools extract` follows.
"""

from __future__ import annotations

import dataclasses

from ..errors import InvalidInput

LAYERS_INDEX = "BOOT-INF/layers.idx"


@dataclasses.dataclass(frozen=True)
class LayersIndex:
    #: (layer name, the names and prefixes it claims), in the order the image stacks them.
    layers: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> LayersIndex:
        import yaml  # here: only a Spring Boot jar needs it, and a fat jar's build starts faster

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise InvalidInput(f"{LAYERS_INDEX} is not valid YAML: {err}", field="jar") from err
        if not isinstance(doc, list) or not all(
            isinstance(item, dict) and len(item) == 1 for item in doc
        ):
            raise InvalidInput(f"{LAYERS_INDEX} must be a list of one-key maps", field="jar")
        layers = []
        for item in doc:
            ((name, claims),) = item.items()
            if not isinstance(name, str) or not isinstance(claims, list | None):
                raise InvalidInput(f"{LAYERS_INDEX}: bad layer {name!r}", field="jar")
            layers.append((name, tuple(str(c) for c in claims or ())))
        if not layers:
            raise InvalidInput(f"{LAYERS_INDEX} defines no layers", field="jar")
        return cls(tuple(layers))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.layers]

    def layer_of(self, entry: str) -> str:
        for name, claims in self.layers:
            for claim in claims:
                if claim == entry or (claim.endswith("/") and entry.startswith(claim)):
                    return name
        raise InvalidInput(f"{LAYERS_INDEX} puts {entry!r} in no layer", field="jar")
