"""What other packages call of the city model, in one place. Each concern lives in its own
package with a service and a repository that owns its SQL (districts, departments,
buildings, routing, calendars); this module names their public services, so callers do not
depend on that layout."""

from __future__ import annotations

from service.city.buildings.service import (
    building_public,
    get_building_point,
    nearest_buildings,
    search_buildings,
)
from service.city.calendars.service import (
    calendar_exceptions,
    city_calendar,
    city_timezone,
    city_working_calendar,
    current_city_calendar,
    get_calendar,
    load_working_calendar,
    working_calendar,
)
from service.city.departments.service import (
    department_subtree,
    get_department,
    list_departments,
)
from service.city.districts.service import (
    OutsideCity,
    district_public,
    import_districts,
    locate,
    outside_city,
)
from service.city.points import point_sql
from service.city.routing.service import (
    EXPLANATIONS,
    NEAREST_BUILDING_M,
    RoutingDecision,
    RoutingRequest,
    dispatcher_department,
    route,
    route_many,
)

__all__ = [
    "EXPLANATIONS",
    "NEAREST_BUILDING_M",
    "OutsideCity",
    "RoutingDecision",
    "RoutingRequest",
    "building_public",
    "calendar_exceptions",
    "city_calendar",
    "city_timezone",
    "city_working_calendar",
    "current_city_calendar",
    "department_subtree",
    "dispatcher_department",
    "district_public",
    "get_building_point",
    "get_calendar",
    "get_department",
    "import_districts",
    "list_departments",
    "load_working_calendar",
    "locate",
    "nearest_buildings",
    "outside_city",
    "point_sql",
    "route",
    "route_many",
    "search_buildings",
    "working_calendar",
]
