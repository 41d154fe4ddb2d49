"""`--set` keys read as `helm --set` reads them: escaped dots, list indexes, items that fill one
list item. The expected values are what `helm template --set …` (v3.17) renders for the same
items; what Helm would refuse, or Rollway does not take, is refused naming the item."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.chart import values
from rollway.errors import InvalidInput


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("replicas", ("replicas",)),
        ("canary.maxSurge", ("canary", "maxSurge")),
        ("nodeSelector.kubernetes\\.io/arch", ("nodeSelector", "kubernetes.io/arch")),
        ("podAnnotations.prometheus\\.io/scrape", ("podAnnotations", "prometheus.io/scrape")),
        ("tolerations[0].key", ("tolerations", 0, "key")),
        ("matrix[1][2]", ("matrix", 1, 2)),
        ("a[01]", ("a", 1)),  # Helm reads the index as a number
        ("a\\.b\\.c", ("a.b.c",)),
        ("x_y-z/w", ("x_y-z/w",)),
        ("a[1000]", ("a", 1000)),
    ],
)
def test_keys_become_paths_of_names_and_indexes(key: str, path: tuple[Any, ...]) -> None:
    assert values.key_path(key) == path


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["nodeSelector.kubernetes\\.io/arch=amd64", "tolerations[0].key=rollway.io/real",
          "tolerations[0].operator=Exists"],
         {"nodeSelector": {"kubernetes.io/arch": "amd64"},
          "tolerations": [{"key": "rollway.io/real", "operator": "Exists"}]}),
        (["podAnnotations.prometheus\\.io/scrape=true"],
         {"podAnnotations": {"prometheus.io/scrape": True}}),
        (["a[2].x=1"], {"a": [None, None, {"x": 1}]}),
        (["a[2].x=1", "a[0]=5", "a[0].y=2"], {"a": [{"y": 2}, None, {"x": 1}]}),
        (["a[1][1]=x", "a[1][0]=y"], {"a": [None, ["y", "x"]]}),
        (["a.b=1", "a=2"], {"a": 2}),
        (["a[01]=1"], {"a": [None, 1]}),
        (["env[0].name=A", "env[1].name=B", "env[0].value=1"],
         {"env": [{"name": "A", "value": 1}, {"name": "B"}]}),
        (["a[0]=x", "a[0]=y"], {"a": ["y"]}),
    ],
)  # fmt: skip
def test_items_build_values_as_helm_set_does(items: list[str], expected: dict[str, Any]) -> None:
    assert values.from_sets(items) == expected


def test_items_are_set_into_the_layer_below_as_helm_sets_into_values_files() -> None:
    base: dict[str, Any] = {
        "tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b"}],
        "nodeSelector": {"disk": "ssd"},
    }
    merged = values.from_sets(
        ["tolerations[1].effect=NoSchedule", "nodeSelector.kubernetes\\.io/os=linux"], base=base
    )
    assert merged == {
        "tolerations": [{"key": "a", "operator": "Exists"}, {"key": "b", "effect": "NoSchedule"}],
        "nodeSelector": {"disk": "ssd", "kubernetes.io/os": "linux"},
    }
    assert base["tolerations"][1] == {"key": "b"}  # the layer below is left as it was


@pytest.mark.parametrize(
    ("items", "says"),
    [  # Helm refuses these too ("interface conversion" errors)
        (["a=1", "a.b=2"], "a is the value 1 here, not a map"),
        (["a=null", "a.b=2"], "a is null here, not a map"),
        (["a.b=x", "a.b.c=y"], 'a.b is the value "x" here, not a map'),
        (["a.b=1", "a[0]=2"], "a is a map here, not a list"),
        (["a[0]=1", "a.b=2"], "a is a list here, not a map"),
        (["a[0]=1", "a[0][1]=2"], "a[0] is the value 1 here, not a list"),
        (["x\\.y=1", "x\\.y.z=2"], "x\\.y is the value 1 here, not a map"),
    ],
)  # fmt: skip
def test_items_that_step_into_a_value_of_another_kind_are_refused(
    items: list[str], says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        values.from_sets(items, field="body.overrides.set")
    assert caught.value.field == "body.overrides.set"
    assert caught.value.message == f"{items[-1]!r}: {says}"


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ("replicas", "is not KEY=VALUE"),
        ("=3", "the key has an empty part"),
        ("a..b=1", "the key has an empty part"),
        (".a=1", "the key has an empty part"),  # Helm ignores it silently
        ("a.=1", "the key has an empty part"),
        ("a b=1", "the key has ' ': a name has letters, digits"),
        ("a,b=1", "the key has ','"),
        ("tolerations[0.key=x", "the key has unbalanced brackets in 'tolerations[0'"),
        ("tolerations0].key=x", "the key has unbalanced brackets in 'tolerations0]'"),
        ("a[x]=1", "the key has 'a[x]', not NAME[N]"),
        ("a[-1]=1", "the key has 'a[-1]', not NAME[N]"),
        ("a[]=1", "the key has 'a[]', not NAME[N]"),
        ("a[0]b=1", "the key has 'a[0]b', not NAME[N]"),
        ("[0]=1", "the key has a list index with no name before it in '[0]'"),
        ("a.[0]=1", "the key has a list index with no name before it"),
        ("a[1001]=1", "the key has list index 1001; the largest allowed is 1000"),
        ("a\\=b=1", "the key may use '\\' only before a dot"),
        ("a\\\\.b=1", "the key may use '\\' only before a dot"),
        ("a{{workflow.name}}=1", "the key must not contain '{{' (Argo template syntax)"),
        ("a={{workflow.name}}", "the value must not contain '{{' (Argo template syntax)"),
        (".".join("a" * 31) + "=1", "the key nests 31 names and indexes deep; at most 30"),
    ],
)
def test_malformed_items_are_refused_naming_the_item(item: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        values.from_sets([item])
    assert caught.value.field == "set"
    assert caught.value.message.startswith(f"{item!r}")
    assert says in caught.value.message
    assert "\n" not in caught.value.message
