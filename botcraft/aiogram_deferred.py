"""Import aiogram without building the validator of every Telegram type up front.

`aiogram/types/__init__.py` ends by calling `model_rebuild()` on each of its ~300 types, and
each build inlines the schemas of every type it reaches: importing aiogram cost 123 MB of RSS
and 4 s on this machine, while BotCraft meets a handful of types (Update, Message, the
keyboards). The types already ask pydantic to defer their builds (`defer_build=True`); only
that loop defeats it.

`install()` adds an import hook that runs the `aiogram` package with those calls turned into
a note: the namespace aiogram passes (every type by name, to resolve its forward references)
is kept as the type's parent namespace, which pydantic reads when it builds the type on its
first use; the methods (SendMessage, Response[...]) get the same namespace. Nothing else in
aiogram or pydantic changes. Measured in bench/README.md ("Memory").
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.machinery import ModuleSpec, PathFinder
from types import ModuleType
from typing import Any

_PACKAGE = "aiogram"


@contextmanager
def _rebuilds_noted(namespace: dict[str, Any]) -> Iterator[None]:
    """Within: `model_rebuild(_types_namespace=ns)` on an unbuilt model keeps `ns`, builds nothing."""
    from pydantic import BaseModel

    rebuild = BaseModel.__dict__["model_rebuild"]

    def note_namespace(cls: Any, *args: Any, _types_namespace: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        if _types_namespace is None or args or kwargs or cls.__pydantic_complete__:
            return rebuild.__func__(cls, *args, _types_namespace=_types_namespace, **kwargs)
        if not namespace:  # aiogram passes one namespace to every type
            namespace.update(_types_namespace)
        _give_namespace(cls, namespace)
        return None

    BaseModel.model_rebuild = classmethod(note_namespace)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]


def _give_namespace(cls: Any, namespace: dict[str, Any]) -> None:
    own = cls.__dict__.get("__pydantic_parent_namespace__")
    if own is namespace:  # given already (a type the methods module imports)
        return
    # A class defined inside a function keeps the names it saw there, on top.
    cls.__pydantic_parent_namespace__ = namespace if not own else {**namespace, **own}


class _DeferredLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def __getattr__(self, name: str) -> Any:  # get_filename, get_resource_reader, ... of the real loader
        return getattr(self._loader, name)

    def exec_module(self, module: ModuleType) -> None:
        from pydantic import BaseModel

        namespace: dict[str, Any] = {}
        with _rebuilds_noted(namespace):
            self._loader.exec_module(module)
        # The methods (SendMessage, GetUpdates, and Response[...] that reads their results) hold
        # the types as fields; built on first use, they need the same names to resolve them.
        methods = sys.modules.get(f"{_PACKAGE}.methods")
        for value in vars(methods).values() if methods and namespace else ():
            if isinstance(value, type) and issubclass(value, BaseModel):
                _give_namespace(value, namespace)


class _DeferTypeBuilds(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        if name != _PACKAGE:
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferredLoader(spec.loader)
        return spec


def install() -> None:
    """Defer the builds for an aiogram imported after this call (idempotent)."""
    if _PACKAGE in sys.modules or any(isinstance(f, _DeferTypeBuilds) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _DeferTypeBuilds())
