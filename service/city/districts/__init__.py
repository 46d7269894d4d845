"""Districts and the city boundary (the union of the districts)."""
