// The dashboard's few enhancements; every page works without them.
// - Live: the day view asks every 2 s whether its plans changed (a conditional request with the ETag of what it
//   shows; 304 when nothing did) and swaps in the new list when they did, keeping the keyboard focus where it was.
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
  var note = document.getElementById("live-note");
  if (note) {
    note.textContent = "This page follows changes as they are made.";
  }

  // The time of an update, in the market's time zone like every other time on the page.
  function now() {
    try {
      return new Date().toLocaleTimeString([], { timeZone: plans.dataset.zone || undefined, timeZoneName: "short" });
    } catch (error) {
      return new Date().toLocaleTimeString();
    }
  }

  // Where the focus is in the list, as the card (its coach) and the link's address or position in it.
  function focusWithin() {
    var active = document.activeElement;
    var card = active && plans.contains(active) && active.closest ? active.closest("[data-coach]") : null;
    if (!card) {
      return null;
    }
    var focusable = Array.prototype.slice.call(card.querySelectorAll("a, button"));
    return { coach: card.dataset.coach, href: active.getAttribute("href"), index: focusable.indexOf(active) };
  }

  function restoreFocus(place) {
    var card = place && plans.querySelector('[data-coach="' + place.coach + '"]');
    if (!card) {
      return;
    }
    var focusable = Array.prototype.slice.call(card.querySelectorAll("a, button"));
    var same = focusable.filter(function (element) {
      return place.href !== null && element.getAttribute("href") === place.href;
    });
    var target = same[0] || focusable[Math.min(Math.max(place.index, 0), focusable.length - 1)];
    if (target) {
      target.focus();
    }
  }

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
            var place = focusWithin();
            plans.innerHTML = html;
            plans.dataset.etag = etag;
            restoreFocus(place);
            if (note) {
              note.textContent = "Updated " + now() + ".";
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
