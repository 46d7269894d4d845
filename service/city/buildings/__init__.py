"""Buildings: address search, the nearest to a point, and the public passport."""
