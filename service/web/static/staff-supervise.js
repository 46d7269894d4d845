// The moderation queue's duplicate maps: the report and the candidates nearby on a small
// map, drawn when its section is opened. Picking a marker picks the candidate's radio
// button; the list of radio buttons works without the map. Markers are drawn as vector
// circles, so they show without tiles.
"use strict";
(function () {
  function number(value) { return Number.parseFloat(value); }

  function draw(element) {
    if (element.dataset.drawn === "1" || typeof L === "undefined") return;
    element.dataset.drawn = "1";
    element.classList.add("ready");
    const here = [number(element.dataset.lat), number(element.dataset.lon)];
    const map = L.map(element, { scrollWheelZoom: false }).setView(here, 17);
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, {
        maxZoom: 19,
        attribution: element.dataset.attribution || "",
      }).addTo(map);
    }
    const points = [here];
    L.circleMarker(here, { radius: 9, color: "#ffffff", weight: 2, fillColor: "#b3261e", fillOpacity: 1 })
      .bindTooltip(element.dataset.code || "")
      .addTo(map);
    const fieldset = document.getElementById(element.dataset.fieldset);
    const radios = fieldset ? fieldset.querySelectorAll("input[type=radio]") : [];
    for (const radio of radios) {
      const point = [number(radio.dataset.lat), number(radio.dataset.lon)];
      points.push(point);
      const marker = L.circleMarker(point, { radius: 8, color: "#ffffff", weight: 2, fillColor: "#0b5cad", fillOpacity: 1 })
        .bindTooltip(radio.dataset.code || "")
        .addTo(map);
      marker.on("click", () => { radio.checked = true; radio.focus(); });
    }
    if (points.length > 1) map.fitBounds(points, { padding: [24, 24], maxZoom: 18 });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const element of document.querySelectorAll(".dup-map")) {
      const details = element.closest("details");
      if (!details || details.open) { draw(element); continue; }
      details.addEventListener("toggle", () => { if (details.open) draw(element); });
    }
  });
})();
