// Filing a report: a map click or the phone's position fills in the coordinates, and the
// chosen photos are previewed. Without scripts the coordinates and the address search work.
"use strict";
(function () {
  function boot() {
    const lat = document.getElementById("field-lat");
    const lon = document.getElementById("field-lon");
    const element = document.getElementById("filing-map");
    if (lat && lon && element && typeof L !== "undefined") {
      element.hidden = false;
      const data = element.dataset;
      const map = L.map(element);
      if (data.tiles) {
        L.tileLayer(data.tiles, { maxZoom: 19, attribution: data.attribution || "" }).addTo(map);
      }
      const start = lat.value && lon.value ? [Number(lat.value), Number(lon.value)] : data.centre.split(",").map(Number);
      map.setView(start, lat.value ? 17 : 13);
      const marker = L.circleMarker(start, { radius: 9, weight: 3, color: "#ffffff", fillColor: "#b3261e", fillOpacity: 1 });
      if (lat.value) marker.addTo(map);
      const place = (point, zoom) => {
        lat.value = point.lat.toFixed(6);
        lon.value = point.lng.toFixed(6);
        marker.setLatLng(point).addTo(map);
        if (zoom) map.setView(point, zoom);
      };
      map.on("click", (event) => place(event.latlng));
      const gps = document.querySelector(".gps");
      const button = document.getElementById("use-position");
      const status = document.getElementById("position-status");
      if (gps && button && navigator.geolocation) {
        gps.hidden = false;
        button.addEventListener("click", () => {
          status.textContent = "…";
          navigator.geolocation.getCurrentPosition(
            (position) => {
              status.textContent = "";
              place(L.latLng(position.coords.latitude, position.coords.longitude), 17);
            },
            (error) => { status.textContent = error.message; },
            { enableHighAccuracy: true, timeout: 15000 },
          );
        });
      }
    }
    const input = document.getElementById("field-photos");
    const preview = document.getElementById("photo-preview");
    if (input && preview) {
      input.addEventListener("change", () => {
        preview.textContent = "";
        for (const file of input.files) {
          if (!file.type.startsWith("image/")) continue;
          const item = document.createElement("li");
          const image = document.createElement("img");
          image.src = URL.createObjectURL(file);
          image.alt = file.name;
          image.addEventListener("load", () => URL.revokeObjectURL(image.src));
          item.appendChild(image);
          preview.appendChild(item);
        }
      });
    }
  }
  document.addEventListener("DOMContentLoaded", boot);
})();
