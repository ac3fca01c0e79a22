// mockidm inspector: live pages. The server sends an event when the mock receives requests;
// the page then fetches itself again and swaps in its live parts ([data-live]), except a
// part the user is typing in. No framework, no build step.
"use strict";

(function () {
  const body = document.body;
  const indicator = document.getElementById("live");
  let busy = false, again = false;

  function editing(part) {
    const focused = document.activeElement;
    return (focused && focused !== body && part.contains(focused) &&
            ["INPUT", "SELECT", "TEXTAREA"].includes(focused.tagName)) ||
           part.querySelector("[data-dirty]") !== null;
  }

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const answer = await fetch(location.href, {headers: {"Accept": "text/html"}});
      if (!answer.ok) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      for (const part of document.querySelectorAll("[data-live]")) {
        const name = part.getAttribute("data-live");
        const replacement = fresh.querySelector(`[data-live="${CSS.escape(name)}"]`);
        if (replacement && !editing(part)) part.replaceWith(document.adoptNode(replacement));
      }
      body.dispatchEvent(new CustomEvent("mockidm:refreshed"));
    } finally {
      busy = false;
      if (again) { again = false; setTimeout(refresh, 200); }
    }
  }

  document.addEventListener("input", (event) => {
    const form = event.target.closest("form");
    if (form && form.closest("[data-live]")) form.setAttribute("data-dirty", "");
  });
  document.addEventListener("submit", (event) => {
    const question = event.target.getAttribute("data-confirm");
    if (question && !confirm(question)) event.preventDefault();
  });

  const source = new EventSource(body.getAttribute("data-events"));
  source.addEventListener("open", () => indicator && indicator.classList.add("on"));
  source.addEventListener("error", () => indicator && indicator.classList.remove("on"));
  source.addEventListener("requests", refresh);
  source.addEventListener("cleared", refresh);
  source.addEventListener("changed", refresh);
})();
