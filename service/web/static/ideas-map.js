// The idea bank's map: located public ideas from /v1/ideas/map as circle markers, so they
// show without tiles too. The list beside the map holds the same ideas; without scripts
// the map stays hidden and the list is the page.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("ideas-map");
  if (!box || typeof L === "undefined") return;
  fetch(box.dataset.src, { headers: { Accept: "application/geo+json" } })
    .then((answer) => (answer.ok ? answer.json() : null))
    .then((collection) => {
      if (!collection || !collection.features || collection.features.length === 0) return;
      box.hidden = false;
      const map = L.map(box, { scrollWheelZoom: false });
      if (box.dataset.tiles) {
        L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
      }
      const points = [];
      for (const feature of collection.features) {
        const [lon, lat] = feature.geometry.coordinates;
        points.push([lat, lon]);
        const popup = document.createElement("div");
        const link = document.createElement("a");
        link.href = "/ideas/" + encodeURIComponent(feature.id);
        link.textContent = feature.properties.title;
        popup.appendChild(link);
        const count = document.createElement("p");
        count.textContent = box.dataset.supporters + ": " + feature.properties.support_count;
        popup.appendChild(count);
        // A string given to Leaflet is read as HTML: the author's title goes in as text.
        const tooltip = document.createElement("span");
        tooltip.textContent = feature.properties.title;
        L.circleMarker([lat, lon], {
          radius: 9, color: "#084784", weight: 2, fillColor: "#0b5cad", fillOpacity: 0.85,
        }).bindPopup(popup).bindTooltip(tooltip).addTo(map);
      }
      if (points.length === 1) map.setView(points[0], 15);
      else map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    })
    .catch(() => { box.hidden = true; });
});

// The proposal form: a click on the map, or the device's position, fills in the place's
// coordinates; the fields themselves work without the map.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("place-map");
  const lat = document.getElementById("field-lat");
  const lon = document.getElementById("field-lon");
  if (!box || !lat || !lon || typeof L === "undefined") return;
  box.hidden = false;
  const [centerLat, centerLon] = box.dataset.center.split(",").map(Number);
  const start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : [centerLat, centerLon];
  const map = L.map(box).setView(start, lat.value ? 16 : 13);
  if (box.dataset.tiles) {
    L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" }).addTo(map);
  }
  const marker = L.circleMarker(start, { radius: 9, color: "#084784", weight: 2, fillColor: "#0b5cad", fillOpacity: 0.85 });
  if (lat.value && lon.value) marker.addTo(map);
  const place = (where) => {
    lat.value = where.lat.toFixed(6);
    lon.value = where.lng.toFixed(6);
    marker.setLatLng(where).addTo(map);
  };
  map.on("click", (event) => place(event.latlng));
  const here = document.getElementById("place-here");
  if (here && navigator.geolocation) {
    here.parentElement.hidden = false;
    here.addEventListener("click", () => {
      navigator.geolocation.getCurrentPosition((position) => {
        const where = L.latLng(position.coords.latitude, position.coords.longitude);
        place(where);
        map.setView(where, 17);
      });
    });
  }
});
