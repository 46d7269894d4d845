// Training programmes in the staff console: drawing a programme's pilot area on a map (the
// GeoJSON field beside it stays the way to give it without a map), the coverage map drawn
// from the list of buildings below it, and the check-in screen's count, fetched again every
// few seconds (the page's refresh link does the same without scripts).
"use strict";
(function () {
  function baseMap(element) {
    const map = L.map(element, { scrollWheelZoom: false });
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { maxZoom: 19 }).addTo(map);
    }
    return map;
  }

  function pilotMap() {
    const element = document.getElementById("pilot-map");
    const field = document.getElementById("field-pilot_area");
    if (!element || !field || typeof L === "undefined") return;
    element.hidden = false;
    const map = baseMap(element);
    const centre = (element.dataset.centre || "58.378,26.729").split(",").map(Number);
    map.setView(centre, 13);
    let corners = [];
    const shape = L.polygon([], { color: "#0b5cad", weight: 2 }).addTo(map);
    const dots = L.layerGroup().addTo(map);

    function write() {
      shape.setLatLngs(corners);
      dots.clearLayers();
      for (const corner of corners) {
        dots.addLayer(L.circleMarker(corner, { radius: 4, color: "#0b5cad", fillOpacity: 1 }));
      }
      if (corners.length >= 3) {
        const ring = corners.map((c) => [Number(c[1].toFixed(6)), Number(c[0].toFixed(6))]);
        ring.push(ring[0]);
        field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
      } else {
        field.value = "";
      }
    }

    try {
      const given = JSON.parse(field.value || "null");
      const geometry = given && given.type === "Feature" ? given.geometry : given;
      if (geometry && geometry.type === "Polygon") {
        corners = geometry.coordinates[0].slice(0, -1).map((p) => [p[1], p[0]]);
        shape.setLatLngs(corners);
        if (corners.length) map.fitBounds(shape.getBounds(), { padding: [16, 16] });
      }
    } catch (error) {
      corners = [];
    }

    map.on("click", (event) => {
      corners.push([event.latlng.lat, event.latlng.lng]);
      write();
    });

    const tools = document.createElement("p");
    tools.className = "map-tools";
    for (const [label, act] of [
      [element.dataset.undo, () => { corners.pop(); write(); }],
      [element.dataset.clear, () => { corners = []; write(); }],
    ]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = label || "";
      button.addEventListener("click", act);
      tools.appendChild(button);
    }
    element.insertAdjacentElement("afterend", tools);
  }

  function coverageMap() {
    const element = document.getElementById("coverage-map");
    if (!element || typeof L === "undefined") return;
    const list = document.getElementById(element.dataset.list || "");
    if (!list) return;
    const points = [];
    for (const item of list.querySelectorAll("li[data-lat]")) {
      points.push([Number(item.dataset.lat), Number(item.dataset.lon), item.textContent]);
    }
    if (!points.length) return;
    element.hidden = false;
    const map = baseMap(element);
    const group = L.featureGroup().addTo(map);
    for (const [lat, lon, address] of points) {
      const marker = L.circleMarker([lat, lon], {
        radius: 7, weight: 2, color: "#ffffff", fillColor: "#b3261e", fillOpacity: 1,
      });
      // A string given to Leaflet is read as HTML: the address goes in as text.
      const tooltip = document.createElement("span");
      tooltip.textContent = address;
      marker.bindTooltip(tooltip);
      group.addLayer(marker);
    }
    map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 17 });
  }

  function liveCount() {
    const box = document.getElementById("checkin-count");
    if (!box || !box.dataset.source) return;
    const source = box.dataset.source;
    setInterval(() => {
      if (document.hidden) return;
      fetch(source, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then((answer) => (answer.ok ? answer.text() : null))
        .then((html) => {
          if (html === null) return;
          const parsed = new DOMParser().parseFromString(html, "text/html");
          const fresh = parsed.querySelector(".screen-count");
          const old = box.querySelector(".screen-count");
          if (fresh && old && fresh.textContent !== old.textContent) {
            old.replaceWith(document.importNode(fresh, true));
          }
        })
        .catch(() => {});
    }, 4000);
  }

  function boot() {
    pilotMap();
    coverageMap();
    liveCount();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
