"""Files shipped with the package (the JSON Schemas, the GitHub workflows): the installed
copy, or, when running from a checkout that was not installed, the checkout's own."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def shipped_file(package: str, name: str, checkout_dir: str) -> Path:
    """``name`` from the data package ``package``, else from ``checkout_dir`` of the checkout."""
    try:
        resource = resources.files(package).joinpath(name)
        if resource.is_file():
            return Path(str(resource))
    except ModuleNotFoundError:
        pass
    return CHECKOUT / checkout_dir / name
