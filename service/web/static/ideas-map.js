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
        L.circleMarker([lat, lon], {
          radius: 9, color: "#084784", weight: 2, fillColor: "#0b5cad", fillOpacity: 0.85,
        }).bindPopup(popup).bindTooltip(feature.properties.title).addTo(map);
      }
      if (points.length === 1) map.setView(points[0], 15);
      else map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    })
    .catch(() => { box.hidden = true; });
});
