"""Working calendars: the city's and departments' own, with their exceptions."""
