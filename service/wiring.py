"""What the lower layers look up at run time, installed from the top.

A package never imports one above it. Where a lower one needs what only a higher one knows,
it declares the need and the entry points fill it here, once, when this module is imported
(``service.main``, ``workers.main`` and ``service.cli`` import it):

* identity reaches a supervisor's departments through the city's department tree.
"""

from __future__ import annotations

from service.auth import supervision
from service.city import service as city

supervision.install(city.department_subtree)
