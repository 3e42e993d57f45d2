"""The names the consent read handlers (`api/routes/consent.py`) import from here.

Every other handler gets only the components its controller names (`api/dependencies.py`); these
two still get the whole graph as `services`, until they take narrow dependencies too.
"""

from __future__ import annotations

from api.answers import written
from api.composition import Components
from api.dependencies import client_of, request_id

__all__ = ["Services", "client_of", "request_id", "written"]

Services = Components
