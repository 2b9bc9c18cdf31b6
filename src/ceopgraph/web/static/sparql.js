/* The SPARQL query editor: YASGUI over this endpoint, loaded from our own origin (no CDN, no
   inline script). Without JavaScript the plain form on the page still runs queries. */
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || typeof window.Yasgui === "undefined") {
    return;
  }
  var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href).href;
  var examples = document.querySelectorAll("a.sparql-example");
  var form = document.querySelector("form.sparql-form");
  if (form) {
    form.hidden = true;
  }
  var yasgui = new window.Yasgui(root, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: false,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: {
      value: examples.length ? examples[0].getAttribute("data-query") : "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
      // No look-ups on third-party services (prefix.cc, LOV): the page talks to this origin only.
      prefixCcApi: null,
      autocompleters: ["variables"],
      persistenceId: null
    },
    yasr: { persistenceId: null }
  });
  window.ceopgraphYasgui = yasgui;
  examples.forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var tab = yasgui.getTab();
      tab.setQuery(link.getAttribute("data-query"));
      tab.getYasqe().query();
    });
  });
})();
