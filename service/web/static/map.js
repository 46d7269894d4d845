// The home page's map: the API's /v1/map (points, or clusters above its budget) for the
// box in view. Markers are drawn as circles and labelled clusters, so they show without
// tiles; the list of recent reports beside the map is the same without a map.
"use strict";
(function () {
  function boot() {
    const element = document.getElementById("report-map");
    if (!element || typeof L === "undefined") return;
    const data = element.dataset;
    const map = L.map(element, { scrollWheelZoom: false });
    if (data.tiles) {
      L.tileLayer(data.tiles, { maxZoom: 19, attribution: data.attribution || "" }).addTo(map);
    }
    if (data.box) {
      const b = data.box.split(",").map(Number);
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: [24, 24], maxZoom: 16 });
    } else {
      const c = data.centre.split(",").map(Number);
      map.setView(c, 13);
    }
    const layer = L.layerGroup().addTo(map);
    let request = 0;

    function clusterIcon(count) {
      const size = count < 10 ? 30 : count < 100 ? 38 : 46;
      const icon = document.createElement("span");
      icon.textContent = String(count);
      return L.divIcon({ className: "cluster-marker", html: icon, iconSize: [size, size] });
    }

    function popup(props) {
      const box = document.createElement("div");
      const link = document.createElement("a");
      link.href = data.reportPath + encodeURIComponent(props.tracking_code);
      link.textContent = (data.openLabel || "") + " " + props.tracking_code;
      box.appendChild(link);
      return box;
    }

    function draw(collection) {
      layer.clearLayers();
      for (const feature of collection.features || []) {
        const [lon, lat] = feature.geometry.coordinates;
        const props = feature.properties || {};
        if (props.kind === "cluster") {
          const marker = L.marker([lat, lon], {
            icon: clusterIcon(props.count),
            title: props.count + " " + (data.clusterLabel || ""),
            keyboard: true,
          });
          marker.on("click", () => map.setView([lat, lon], Math.min(map.getZoom() + 2, 19)));
          layer.addLayer(marker);
        } else {
          const marker = L.circleMarker([lat, lon], {
            radius: 8, weight: 2, color: "#ffffff", fillColor: props.overdue ? "#b3261e" : "#0b5cad", fillOpacity: 1,
          });
          marker.bindPopup(popup(props));
          layer.addLayer(marker);
        }
      }
    }

    function load() {
      const b = map.getBounds();
      const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
      const box = [
        clamp(b.getWest(), -180, 179.999), clamp(b.getSouth(), -90, 89.999),
        clamp(b.getEast(), -179.999, 180), clamp(b.getNorth(), -89.999, 90),
      ].map((v) => v.toFixed(6)).join(",");
      const url = data.mapUrl + "?bbox=" + box + "&zoom=" + clamp(Math.round(map.getZoom()), 0, 22);
      const mine = ++request;
      fetch(url, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
        .then((answer) => (answer.ok ? answer.json() : null))
        .then((collection) => { if (collection && mine === request) draw(collection); })
        .catch(() => {});
    }

    map.on("moveend", load);
    load();
  }
  document.addEventListener("DOMContentLoaded", boot);
})();
