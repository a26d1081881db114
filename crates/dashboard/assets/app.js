// The dashboard's few enhancements; every page works without them.
// - Live: the day view asks every 2 s whether its plans changed (a conditional request with the ETag of what it
//   shows; 304 when nothing did) and swaps in the new list when they did.
// - Charts open large in a dialog (Escape or the close button closes it); without this script the link opens the
//   image itself.
(function () {
  "use strict";

  function openChart(link) {
    var dialog = document.getElementById("chart-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return false;
    }
    var image = dialog.querySelector("img");
    image.src = link.href;
    image.alt = link.querySelector("img") ? link.querySelector("img").alt : "Chart";
    dialog.showModal();
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.chart") : null;
    if (link && openChart(link)) {
      event.preventDefault();
    }
    if (event.target.id === "chart-close") {
      document.getElementById("chart-dialog").close();
    }
  });

  var plans = document.getElementById("plans");
  if (!plans || !plans.dataset.live) {
    return;
  }
  var etag = plans.dataset.etag;
  var busy = false;
  function poll() {
    if (busy || document.hidden) {
      return;
    }
    busy = true;
    fetch(plans.dataset.live, { headers: { "If-None-Match": etag }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 200) {
          etag = response.headers.get("ETag") || etag;
          return response.text().then(function (html) {
            plans.innerHTML = html;
            plans.dataset.etag = etag;
            var note = document.getElementById("live-note");
            if (note) {
              note.textContent = "Updated " + new Date().toLocaleTimeString();
            }
          });
        }
        return null;
      })
      .catch(function () {})
      .then(function () {
        busy = false;
      });
  }
  setInterval(poll, 2000);
})();
