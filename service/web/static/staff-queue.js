// The department queue and the report workspace: enhancements only, every page works
// without them. The queue refreshes itself every minute (the same page fetched again, its
// list swapped in) unless reports are selected or a field is being used; j/k or the arrow
// keys move between the queue's rows and Enter opens one; the workspace shows a small map.
"use strict";
(() => {
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(el.tagName));

  function rows() {
    return Array.from(document.querySelectorAll("table.queue tbody tr[data-href]"));
  }

  function prepareRows() {
    for (const row of rows()) row.tabIndex = -1;
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(document.activeElement);
    const next = at < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, at + step));
    all[next].focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const active = document.activeElement;
    const onRow = active && active.matches && active.matches("table.queue tbody tr[data-href]");
    if (typing(active) && !onRow) return;
    if (!rows().length) return;
    if (event.key === "j" || (onRow && event.key === "ArrowDown")) { event.preventDefault(); move(1); }
    else if (event.key === "k" || (onRow && event.key === "ArrowUp")) { event.preventDefault(); move(-1); }
    else if (onRow && event.key === "Enter") { event.preventDefault(); window.location.assign(active.dataset.href); }
  });

  function busy() {
    const form = document.getElementById("bulk-form");
    if (form && form.querySelector("input[name=report_ids]:checked")) return true;
    const active = document.activeElement;
    return typing(active) || document.visibilityState !== "visible";
  }

  async function refresh() {
    if (busy()) return;
    try {
      const answer = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!answer.ok) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      if (busy()) return;
      for (const id of ["queue-counts", "queue-list"]) {
        const now = document.getElementById(id);
        const then = fresh.getElementById(id);
        if (now && then) now.replaceWith(document.adoptNode(then));
      }
      prepareRows();
    } catch (error) {
      // Offline or the server busy: the next minute tries again.
    }
  }

  function showMap() {
    const box = document.getElementById("report-map");
    if (!box || !window.L || !box.dataset.tiles) return;
    const point = [Number(box.dataset.lat), Number(box.dataset.lon)];
    const map = window.L.map(box, { scrollWheelZoom: false }).setView(point, 17);
    window.L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: "© OpenStreetMap" }).addTo(map);
    window.L.marker(point, { title: box.dataset.label, alt: box.dataset.label }).addTo(map);
  }

  document.addEventListener("DOMContentLoaded", () => {
    prepareRows();
    showMap();
    const list = document.getElementById("queue-list");
    if (list && list.dataset.refresh) {
      window.setInterval(refresh, Number(list.dataset.refresh) * 1000);
    }
  });
})();
