"""The catalog factory: what a ``--stac`` source is, told from its path or landing page.

A *source* is where scenes are found; :func:`open_catalog` turns the ``--stac`` value into a
:class:`~monitor.catalog.base.Catalog` of one of two kinds:

``"api"``
    A STAC API with item search (Earth Search, Planetary Computer, stac-fastapi): searched
    server-side by bbox, dates, collection and cloud cover, page by page
    (:mod:`monitor.catalog.api`).
``"static"``
    A static catalog or collection (``catalog.json`` / ``collection.json``, a file, a URL,
    or a folder holding one): every item is read once and filtered here
    (:mod:`monitor.catalog.static`).

A local path is always static. An http(s) URL is fetched once: a landing page that
conforms to STAC API item search (or links ``rel=search``) is an API; JSON of type Catalog
or Collection is static; anything else is refused. Either way a catalog yields plain item
dicts; :mod:`monitor.catalog.scenes` turns them into Scenes. The HTTP policy (timeouts,
retries) is :mod:`monitor.catalog.base`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from monitor.catalog.api import ApiCatalog
from monitor.catalog.base import Catalog, describe_http_error, is_url, make_stac_io
from monitor.catalog.static import StaticCatalog
from monitor.errors import ConfigError, SourceError

if TYPE_CHECKING:
    from monitor.config import Settings

__all__ = [
    "DEFAULT_API_COLLECTION",
    "Catalog",
    "open_catalog",
    "catalog_from_settings",
]

#: The collection searched on a STAC API when none is given (the contract's default).
DEFAULT_API_COLLECTION = "sentinel-2-c1-l2a"


def _load_modifier(sign: str | None) -> Callable[[Any], None] | None:
    """The asset-signing modifier for ``sign`` (only Planetary Computer is known)."""
    if sign is None:
        return None
    if sign != "planetary-computer":
        raise ConfigError(f"sign = {sign!r}: expected 'planetary-computer' or nothing")
    try:
        import planetary_computer
    except ImportError:
        raise ConfigError(
            "sign = planetary-computer needs the planetary-computer package: "
            "pip install border-monitor[pc]"
        ) from None
    modifier: Callable[[Any], None] = planetary_computer.sign_inplace
    return modifier


# ----------------------------------------------------------------------------------------
# Deciding what a source is
# ----------------------------------------------------------------------------------------


def _looks_like_item_search(document: Mapping[str, Any]) -> bool:
    conforms = document.get("conformsTo")
    if isinstance(conforms, list):
        for uri in conforms:
            if isinstance(uri, str) and uri.rstrip("/").split("#")[0].endswith("/item-search"):
                return True
    for link in document.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == "search":
            return True
    return False


def _local_path(source: str, base_dir: Path | None) -> Path:
    if source.lower().startswith("file://"):
        path = Path(unquote(urlsplit(source).path))
    else:
        path = Path(source).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if path.is_dir():
        for name in ("catalog.json", "collection.json"):
            if (path / name).is_file():
                return path / name
        raise SourceError(f"{path}: folder holds neither catalog.json nor collection.json")
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    return path


def open_catalog(
    source: str,
    *,
    collection: str | None = None,
    fallback_collection: str | None = "sentinel-2-l2a",
    sign: str | None = None,
    timeout_s: float = 30.0,
    retries: int = 4,
    page_size: int = 100,
    base_dir: Path | None = None,
) -> Catalog:
    """Open a STAC API or a static catalog/collection for searching.

    Parameters
    ----------
    source : str
        STAC API URL; or ``catalog.json``/``collection.json`` as a path, ``file://`` or
        http(s) URL; or a folder holding one.
    collection : str, optional
        Collection to search. Default on an API: ``sentinel-2-c1-l2a``; on a static
        catalog: every item.
    fallback_collection : str, optional
        On an API searching ``sentinel-2-c1-l2a``: searched for months without scenes.
    sign : {"planetary-computer"}, optional
        Sign asset hrefs with ``planetary_computer.sign_inplace`` (needs the ``pc`` extra).
    timeout_s, retries : float, int
        Per-request timeout and retries with backoff (5xx, 429, connection errors).
    page_size : int
        Items per page of an API search (``limit``).
    base_dir : Path, optional
        Relative paths are relative to it (default: the working directory).

    Returns
    -------
    Catalog
        ``kind`` "api" or "static".

    Raises
    ------
    SourceError
        Unreachable, not STAC, bad JSON, missing file, or unknown collection.
    ConfigError
        ``sign`` given without its package.

    Examples
    --------
    >>> catalog = open_catalog("../shared/data/oscd/rennes")  # doctest: +SKIP
    >>> catalog.kind
    'static'
    """
    modifier = _load_modifier(sign)
    if not is_url(source):
        path = _local_path(source, base_dir)
        return StaticCatalog(str(path), collection=collection, modifier=modifier)

    stac_io = make_stac_io(timeout_s, retries)
    try:
        text = stac_io.request(source)
    except Exception as exc:  # noqa: BLE001 - pystac-client raises APIError for everything
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            # A page that is not there (or not for us) is not a catalog; 5xx stays an error
            # of the server, reported as such.
            raise SourceError(f"{source}: not a STAC API or catalog (HTTP {status})") from None
        raise describe_http_error(source, exc, timeout_s) from None
    try:
        document = json.loads(text)
    except ValueError:
        start = " ".join(text[:40].split())
        raise SourceError(
            f"{source}: not a STAC API or catalog (not JSON: starts with {start!r})"
        ) from None
    if not isinstance(document, dict):
        raise SourceError(
            f"{source}: not a STAC API or catalog (JSON {type(document).__name__}, not an object)"
        )

    if _looks_like_item_search(document):
        return ApiCatalog(
            source,
            landing=document,
            stac_io=stac_io,
            collection=collection or DEFAULT_API_COLLECTION,
            fallback_collection=fallback_collection,
            modifier=modifier,
            page_size=page_size,
            timeout_s=timeout_s,
        )
    if document.get("type") in ("Catalog", "Collection"):
        return StaticCatalog(
            source, collection=collection, modifier=modifier, stac_io=stac_io, document=document
        )
    kind = document.get("type")
    detail = f"JSON of type {kind!r}" if kind else "JSON without a STAC type"
    raise SourceError(f"{source}: not a STAC API or catalog ({detail}, no item search)")


def catalog_from_settings(settings: Settings, *, base_dir: Path | None = None) -> Catalog:
    """:func:`open_catalog` with the ``stac``, ``collection``, ``fallback_collection``,
    ``sign``, ``http_timeout_s``, ``http_retries`` and ``page_size`` settings.

    A relative static path is taken relative to ``base_dir``, else to the working
    directory, as every other path setting is.
    """
    return open_catalog(
        settings.stac,
        collection=settings.collection,
        fallback_collection=settings.fallback_collection,
        sign=settings.sign,
        timeout_s=settings.http_timeout_s,
        retries=settings.http_retries,
        page_size=settings.page_size,
        base_dir=base_dir,
    )
